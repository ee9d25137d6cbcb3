"""Numbers as a reader of each language expects them: Persian digits (۰-۹), the Persian
thousands separator (٬) and decimal separator (٫) in Persian; ASCII digits with commas in
English. SDMX messages always carry ASCII numbers: this is for pages and reports only."""

from __future__ import annotations

import math
from typing import Literal

Lang = Literal["fa", "en"]
LANGS: tuple[Lang, ...] = ("fa", "en")

_TO_PERSIAN = str.maketrans({**{str(i): chr(0x06F0 + i) for i in range(10)}, ",": "٬", ".": "٫", "-": "−"})


def persian_digits(text: object) -> str:
    """`text` with ASCII digits as Persian digits (separators left alone)."""
    return str(text).translate(str.maketrans({str(i): chr(0x06F0 + i) for i in range(10)}))


def localise_digits(text: object, lang: Lang) -> str:
    return persian_digits(text) if lang == "fa" else str(text)


def format_number(value: float | int | None, lang: Lang, decimals: int | None = None) -> str:
    """`value` with thousands grouped and `decimals` places (None: as many as it has, up to 6),
    in the digits and separators of `lang`. Missing values and NaN are an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return ("+" if value > 0 else "-") + "∞"
    if decimals is None:
        text = f"{value:,.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    else:
        text = f"{value:,.{max(0, decimals)}f}"
    return text.translate(_TO_PERSIAN) if lang == "fa" else text
