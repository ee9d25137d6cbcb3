"""The quarterly report to the head of the organisation (`sdmx-server report quarterly`): how
the official-statistics system performed in a quarter, as a self-contained HTML page and a PDF
made in pure Python, in Persian (right to left, Persian digits, Solar Hijri dates) and English.

- `quarters.py`: a Gregorian (2026-Q3) or Solar Hijri (1405-Q2) quarter and its days;
- `facts.py`: what the report says, gathered from the store (loads, the release calendar, the
  dashboard's statuses, usage statistics) into plain dataclasses;
- `plots.py`: the figures (matplotlib, Persian labels shaped);
- `html.py` and `pdf.py`: the two renderings of the same facts;
- `words.py`: the report's own words in both languages.
"""
