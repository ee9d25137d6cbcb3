"""Structural metadata: authoring files and SDMX-ML in, sdmx.model objects held and stored."""
