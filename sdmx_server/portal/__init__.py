"""The portal and the dashboard: HTML pages at `/` (Persian, right to left, the default) and
under `/en/` (English), made from the same services as the SDMX API (never a side door to the
database) and through the same gate (access/gate.py), so a page shows exactly what the API
would answer the same person.

- `routes.py`: every page under both prefixes, the static files;
- `render.py`: templates (Jinja2, autoescaped), the language of a request, links between pages;
- `i18n.py`: the pages' own words in both languages;
- one module per page family: `catalogue.py` (home, search), `explorer.py` (one dataflow's
  data), `structure_pages.py` (DSDs, codelists, reference metadata), `dashboard.py` (indicators
  against their norms), `signin.py`.
"""

from sdmx_server.portal.routes import routes

__all__ = ["routes"]
