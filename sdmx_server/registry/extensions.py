"""SDMX 3.0 codelist extensions: the codes a codelist holds once they are applied.

A codelist may extend others (`extends`: v30.CodelistExtension, each with an optional prefix
and an inclusive or exclusive selection of codes, `%` ending a value for "starts with"). Its
effective codes are its own, then each extended codelist's selected codes, prefixed, in order.
REST `detail=full` answers the resolved codelist, `raw` the codelist as stored; data checks and
authoring checks use the effective codes.
"""

from __future__ import annotations

import copy

from sdmx.model import common, v30


def matches(value: str, code: str) -> bool:
    """A selection value against a code id: `A%` selects the codes starting with A."""
    return code.startswith(value[:-1]) if value.endswith("%") else code == value


def effective_codes(codelist, _seen: tuple = ()) -> dict[str, common.Code]:
    """Code id -> code, once the codelist's extensions are applied (cycles stop silently)."""
    codes: dict[str, common.Code] = dict(codelist.items) if hasattr(codelist, "items") else {}
    if any(codelist is s for s in _seen):
        return codes
    for ext in getattr(codelist, "extends", None) or ():
        base = ext.extends
        if not isinstance(base, common.Codelist):
            continue
        selection = ext.selection
        wanted = [mv.value for mv in selection.mv] if selection is not None else []
        for code_id, code in effective_codes(base, _seen + (codelist,)).items():
            chosen = any(matches(str(w), code_id) for w in wanted)
            if selection is not None and chosen != isinstance(selection, v30.InclusiveCodeSelection):
                continue
            codes.setdefault((ext.prefix or "") + code_id, code)
    return codes


def resolved(codelist):
    """The codelist with its extensions applied and no longer named (REST `detail=full`): a
    copy; the codelist itself when it extends nothing."""
    if not getattr(codelist, "extends", None):
        return codelist
    out = copy.copy(codelist)
    items = {}
    for code_id, code in effective_codes(codelist).items():
        if code_id != code.id:  # a prefixed inherited code: a code of its own, same texts
            code = copy.copy(code)
            code.id = code_id
        items[code_id] = code
    out.items = items
    out.extends = []
    return out
