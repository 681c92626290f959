"""Free text (names, remarks, callsigns): the characters it may hold.

Control characters mean nothing to a reader, and most of them cannot be written in XML
1.0 at all (NVG, KML, CoT), so one stray character would break every export of the
picture that holds it. Refused: the C0 controls but tab, line feed and carriage return;
DEL; U+FFFE and U+FFFF; lone surrogates.
"""

from __future__ import annotations

import re
from typing import Final

# Written with escapes, not the characters themselves, so that the pattern reads the
# same in the OpenAPI document (ECMA-262 understands these escapes too).
_CONTROL_CLASS: Final = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uD800-\uDFFF\uFFFE\uFFFF"
FREE_TEXT_PATTERN: Final = rf"^[^{_CONTROL_CLASS}]*$"
FREE_TEXT_RULE: Final = (
    "must not contain control characters (tab, line feed and carriage return are fine)"
)
_CONTROL: Final = re.compile(rf"[{_CONTROL_CLASS}]")


def without_control_characters(text: str, replacement: str = "") -> str:
    """``text`` with every refused character dropped, or replaced by ``replacement``."""
    return _CONTROL.sub(replacement, text)
