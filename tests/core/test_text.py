"""Free text: which characters the input rule refuses, and cleaning text that has them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tessera.core.text import FREE_TEXT_PATTERN, without_control_characters

REFUSED = [chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
REFUSED += ["\ud800", "\udfff", "\ufffe", "\uffff"]
ALLOWED = ["\t", "\n", "\r", " ", "~", "\u0080", "\u0085", "\u00a0", "\ufffd", "\U0001f600"]


def test_the_pattern_refuses_control_characters_and_keeps_the_rest() -> None:
    pattern = re.compile(FREE_TEXT_PATTERN)
    for char in REFUSED:
        assert pattern.search(f"a{char}b") is None, hex(ord(char))
    for char in ALLOWED:
        assert pattern.search(f"a{char}b") is not None, hex(ord(char))


def test_cleaning_drops_or_replaces_exactly_the_refused_characters() -> None:
    text = "".join(f"<{char}>" for char in REFUSED + ALLOWED)
    kept = "".join(f"<{char}>" for char in ALLOWED)
    assert without_control_characters(text) == "<>" * len(REFUSED) + kept
    marked = without_control_characters(text, "\ufffd")
    assert marked == "<\ufffd>" * len(REFUSED) + kept


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_cleaned_text_always_passes_the_rule(text: str) -> None:
    assert re.search(FREE_TEXT_PATTERN, without_control_characters(text))
