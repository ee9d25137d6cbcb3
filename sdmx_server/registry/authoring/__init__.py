"""Authoring files: structures written by hand as YAML (and CSV codes), read into sdmx.model.

The format is specified in docs/authoring.md. `read_authoring` never raises for bad input:
every problem becomes an `AuthoringError` located as `path:line: message`.
"""

from sdmx_server.registry.authoring.errors import AuthoringError
from sdmx_server.registry.authoring.reader import AuthoringResult, find_authoring_files, read_authoring

__all__ = ["AuthoringError", "AuthoringResult", "find_authoring_files", "read_authoring"]
