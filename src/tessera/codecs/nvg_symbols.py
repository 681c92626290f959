"""NVG ``symbol`` attributes (``scheme:code``) as APP-6(D) SIDCs. Pure: no I/O."""

from __future__ import annotations

from typing import Final, NamedTuple

from tessera.core.cot_types import sidc_of_symbol_code
from tessera.core.symbol_convert import sidc_of_letter_code
from tessera.core.symbols import symbol_set

APP6D_SCHEMES: Final = frozenset({"app6d", "2525d", "ms2525d", "app6e", "2525e", "ms2525e"})
LETTER_SCHEMES: Final = frozenset(
    {"app6a", "app6b", "app6c", "2525b", "2525c", "ms2525b", "ms2525c"}
)
CONTROL_MEASURES: Final = "25"  # APP-6(D) symbol set of control measures


class NvgSymbol(NamedTuple):
    sidc: str | None
    graphic: bool  # a control measure or tactical graphic, not a unit: an overlay
    note: str | None


def symbol_of(raw: str) -> NvgSymbol:
    scheme, _, code = raw.strip().partition(":")
    scheme, code = scheme.lower(), code.strip()
    if scheme in APP6D_SCHEMES:
        match = sidc_of_symbol_code(code)
        if match is None:
            return NvgSymbol(None, False, f"symbol {raw[:40]} is not a readable SIDC")
        return NvgSymbol(match.sidc, symbol_set(match.sidc) == CONTROL_MEASURES, match.reason)
    if scheme in LETTER_SCHEMES:
        letters = code.upper().replace("*", "-")
        if letters[:1] in ("G", "W"):  # tactical graphics and meteorology: not units
            return _graphic(letters, raw)
        if 10 <= len(letters) < 15:
            letters = letters.ljust(15, "-")  # some writers drop trailing dashes
        match = sidc_of_symbol_code(letters)
        if match is not None:
            return NvgSymbol(match.sidc, False, match.reason)
    return NvgSymbol(None, False, f"symbol {raw[:40]} not converted to APP-6(D)")


def _graphic(letters: str, raw: str) -> NvgSymbol:
    """A tactical graphic or METOC letter code: an overlay's symbol, converted by the
    crosswalk where it has a counterpart."""
    try:
        converted = sidc_of_letter_code(letters)
    except ValueError:
        return NvgSymbol(None, True, f"symbol {raw[:40]} not converted to APP-6(D)")
    note = None if converted.exact else f"symbol {raw[:40]}: {converted.reason}"
    return NvgSymbol(converted.code, True, note)
