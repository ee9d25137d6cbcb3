"""Persian text as units type it, made comparable: for value maps and column names."""

from __future__ import annotations

#: Arabic letters that Persian text often carries in their place, and Persian/Arabic digits.
_NORMALISE = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "\u200c": " ", "ۀ": "ه",
                            **{chr(0x06F0 + i): str(i) for i in range(10)},
                            **{chr(0x0660 + i): str(i) for i in range(10)}})


def normalise_text(text: str) -> str:
    """A value as a value map compares it: Arabic yeh and kaf as Persian, Persian digits as
    ASCII, the zero-width non-joiner as a space, spaces collapsed."""
    return " ".join(str(text).translate(_NORMALISE).split())
