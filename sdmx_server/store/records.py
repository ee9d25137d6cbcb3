"""The record of every data load, applied or rejected: who sent what, when, and what became of it."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LoadRecord(SQLModel, table=True):
    __tablename__ = "sdmx_load"

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(index=True)  # AGENCY:ID(VERSION)
    action: str  # merge | replace | delete (or mixed, from an SDMX-CSV 2.0 ACTION column)
    source: str  # the file name as given
    status: str = "running"  # running | applied | rejected | failed
    observations: int = 0  # data rows read
    errors: int = 0
    #: The first lines of the validation report of a rejected load.
    report: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
