"""Writers: one module per format and version, plus content negotiation and SDMX errors."""
