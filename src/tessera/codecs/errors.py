"""Decoding errors that name the item, the field and the reason."""

from __future__ import annotations

import msgspec


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
    return FieldError(index, field or "$", reason)
