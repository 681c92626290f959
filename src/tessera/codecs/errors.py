"""Decoding errors that name the item, the field and the reason."""

from __future__ import annotations

import re
from typing import Final

import msgspec

from tessera.core.text import FREE_TEXT_PATTERN, FREE_TEXT_RULE

# Besides its own DecodeError, msgspec raises UnicodeDecodeError for bytes inside a JSON
# string that are not UTF-8, and RecursionError for arrays or objects nested deeper than
# the interpreter's recursion limit. Untrusted JSON must catch all three.
JSON_DECODE_ERRORS: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
NESTED_TOO_DEEPLY: Final = "is nested too deeply (arrays or objects within each other)"
# A high surrogate escape with no low one after it: msgspec calls that "truncated".
_UNPAIRED_SURROGATE: Final = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")
UNPAIRED_SURROGATE: Final = "holds an unpaired UTF-16 surrogate escape (such as \\ud800)"
# msgspec names a pattern by the regular expression itself; people get the rule instead.
_PATTERN_REASONS: Final = {
    f"Expected `str` matching regex {FREE_TEXT_PATTERN!r}": FREE_TEXT_RULE,
}


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one input: ``index`` is the item in a batch (``None``: the whole
    input), ``field`` a dotted path inside it (``"$"``: the item itself)."""

    index: int | None
    field: str
    reason: str


class DecodeError(ValueError):
    """Input that could not be accepted, with every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        first = errors[0] if errors else FieldError(None, "$", "invalid input")
        where = f"item {first.index}, " if first.index is not None else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}{first.field}: {first.reason}{more}")


class BatchTooLargeError(DecodeError):
    """More items in one batch than the limit allows."""


def field_error_from_msgspec(exc: msgspec.MsgspecError, index: int | None = None) -> FieldError:
    """Turn msgspec's ``"<reason> - at `$[3].position.lat`"`` into a FieldError."""
    message = str(exc)
    reason, sep, path = message.rpartition(" - at `")
    if not sep:
        return FieldError(index, "$", message)
    path = path.rstrip("`")
    if path.startswith("$[") and index is None:
        closing = path.index("]")
        index = int(path[2:closing])
        path = "$" + path[closing + 1 :]
    field = path[2:] if path.startswith("$.") else path
    return FieldError(index, field or "$", _PATTERN_REASONS.get(reason, reason))


def json_field_error(
    exc: Exception, data: bytes | bytearray | memoryview | str, index: int | None = None
) -> FieldError:
    """A FieldError for any of ``JSON_DECODE_ERRORS`` raised decoding ``data``."""
    if isinstance(exc, msgspec.MsgspecError):
        if str(exc) == "Input data was truncated" and _unpaired_surrogate(data):
            return FieldError(index, "$", UNPAIRED_SURROGATE)
        return field_error_from_msgspec(exc, index)
    if isinstance(exc, RecursionError):
        return FieldError(index, "$", NESTED_TOO_DEEPLY)
    return FieldError(index, "$", not_utf8_reason(data))


def not_utf8_reason(data: bytes | bytearray | memoryview | str) -> str:
    """Where ``data`` stops being UTF-8 (msgspec's own error counts within one string)."""
    if not isinstance(data, str):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"is not valid UTF-8: byte 0x{exc.object[exc.start]:02X} at offset {exc.start}"
    return "is not valid UTF-8"


def _unpaired_surrogate(data: bytes | bytearray | memoryview | str) -> bool:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    return _UNPAIRED_SURROGATE.search(raw) is not None
