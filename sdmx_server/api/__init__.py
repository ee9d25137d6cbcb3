"""HTTP: the starlette application and its SDMX REST routes."""
