"""sdmx-server: an SDMX statistical data and metadata exchange server."""

__version__ = "0.1.0"
