"""SDMX-ML 3.0 data and metadata constraints.

A 2.1 ContentConstraint or a 3.0 DataConstraint is written as str:DataConstraint: `role`
(required) instead of 2.1's `type`, at most two cube regions, and the key sets and regions of
the 2.1 module with the 3.0 element names (str:KeyValue, str:Component, str:Value...).
Provision agreements need nothing of their own: the 2.1 function writes str:Dataflow (the
writer's `provision_usage_tag`) and str:DataProvider as URNs.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import v21, v30

from sdmx_server.formats.structure_ml21_constraints import attachment, keys_and_regions, role
from sdmx_server.formats.structure_ml30_base import ML30


@ML30.register(v21.ContentConstraint, v30.DataConstraint)
def data_constraint(w, constraint, el: etree._Element) -> None:
    # 2.1's type defaults to Actual; 3.0's role is required.
    el.set("role", role(constraint) or "Actual")
    if not w.full:
        return
    if getattr(constraint, "metadata_content_region", None) is not None:
        raise w.not_expressible("a metadata target region in a data constraint")
    if len(constraint.data_content_region) > 2:
        raise w.not_expressible(f"{len(constraint.data_content_region)} cube regions (at most 2)")
    attachment(w, el, constraint.content)
    keys_and_regions(w, el, constraint)


@ML30.register(v30.MetadataConstraint)
def metadata_constraint(w, constraint, el: etree._Element) -> None:
    el.set("role", "Allowed")  # fixed by the schema
    if role(constraint) not in (None, "Allowed"):
        raise w.not_expressible("a metadata constraint of actual content")
    if w.full:
        attachment(w, el, getattr(constraint, "content", None) or ())
