"""Persian as the organisation writes it: text made comparable (`text.py`), the Solar Hijri
calendar (`calendar.py`), and numbers and dates as Persian readers expect them
(`numbers.py`). A leaf: sources of loaders/, the portal and the reports all use it."""
