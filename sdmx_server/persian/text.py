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


#: What a search ignores beyond normalise_text: the forms of alef with hamza or madda (people
#: type تامین for تأمین), hamza on waw and yeh, teh marbuta, and the marks (harakat, tatweel)
#: that few type. Only for comparing: a page shows the text as written.
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ی", "ة": "ه",
                       "ء": None, "\u0640": None, **{chr(c): None for c in range(0x064B, 0x0660)},
                       "\u0670": None, "\u200d": None, "\u200e": None, "\u200f": None})


def fold_for_search(text: str) -> str:
    """`text` as a search compares it: normalise_text (Persian ی and ک, digits as ASCII, the
    zero-width non-joiner as a space), then the letters above folded, the marks dropped and
    the case folded (Latin names)."""
    return " ".join(normalise_text(text).translate(_FOLD).casefold().split())
