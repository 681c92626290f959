"""JSON from clients that msgspec cannot read (bytes that are not UTF-8, nesting past the
recursion limit): clean errors naming the problem, never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tessera.codecs.errors import NESTED_TOO_DEEPLY, UNPAIRED_SURROGATE, DecodeError, FieldError
from tessera.codecs.json import ReportCodec, ReportPolicy
from tessera.codecs.overlay_json import OverlayCodec
from tessera.core.labels import DEFAULT_LEVELS, ClassificationScheme
from tessera.core.model import Label

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LABEL = Label("UNCLASSIFIED", ())
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def reports() -> ReportCodec:
    return ReportCodec(ReportPolicy(levels=DEFAULT_LEVELS, default_label=LABEL))


def overlays() -> OverlayCodec:
    return OverlayCodec(ClassificationScheme())


def report_doc(**changes: Any) -> dict[str, Any]:
    doc = {
        "source": {"id": "uav-1", "kind": "uav"},
        "observed_at": "2026-05-04T11:59:00Z",
        "position": {"lat": 53.1, "lon": 18.0},
        "remarks": "PLACEHOLDER",
    }
    return {**doc, **changes}


def overlay_doc(**changes: Any) -> dict[str, Any]:
    return {"name": "PLACEHOLDER", "kind": "point", "coordinates": [[18.0, 53.0]], **changes}


def with_raw(doc: Any, raw: bytes) -> bytes:
    """``doc`` as JSON with ``raw`` (any bytes) where its "PLACEHOLDER" text is."""
    return json.dumps(doc).encode().replace(b"PLACEHOLDER", raw)


def batch_errors(data: bytes) -> list[FieldError]:
    with pytest.raises(DecodeError) as raised:
        reports().decode_batch(data, now=NOW, new_id=lambda: "r")
    return raised.value.errors


def overlay_errors(data: bytes) -> list[FieldError]:
    with pytest.raises(DecodeError) as raised:
        overlays().decode(data, overlay_id="o1", author="me", default_label=LABEL)
    return raised.value.errors


def test_bytes_that_are_not_utf8_inside_a_string_name_the_item() -> None:
    data = b"[" + with_raw(report_doc(), b"ok") + b"," + with_raw(report_doc(), b"a\xffb") + b"]"
    [error] = batch_errors(data)
    assert (error.index, error.field) == (1, "$")
    assert "not valid UTF-8" in error.reason and "0xFF" in error.reason
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        reports().decode_line(with_raw(report_doc(), b"\xc0\x80"), index=7, now=None, new_id=str)
    [error] = overlay_errors(with_raw(overlay_doc(), b"\xed\xa0\x80"))  # an encoded surrogate
    assert "not valid UTF-8: byte 0xED" in error.reason


@pytest.mark.parametrize("data", [DEEP, b"[" + DEEP_OBJECT + b"]", DEEP_OBJECT])
def test_nesting_past_the_recursion_limit_is_a_clean_error(data: bytes) -> None:
    [error] = batch_errors(data)
    assert error.reason in (NESTED_TOO_DEEPLY, "expected a JSON array of reports")
    with pytest.raises(DecodeError):
        reports().decode_line(data, index=0, now=None, new_id=str)
    assert overlay_errors(data)


def test_an_unpaired_surrogate_escape_is_named_not_called_truncated() -> None:
    # msgspec calls a high surrogate escape near the end of the input "truncated".
    [error] = batch_errors(b"[" + with_raw(report_doc(), b"\\ud800") + b"]")
    assert error.reason == UNPAIRED_SURROGATE
    last = {"kind": "point", "coordinates": [[18.0, 53.0]], "name": "PLACEHOLDER"}
    [error] = overlay_errors(with_raw(last, b"x\\uDBFF"))
    assert error.reason == UNPAIRED_SURROGATE
    [error] = overlay_errors(with_raw(overlay_doc(), b"\\uDBFFx"))
    assert "surrogate" in error.reason
    # A real pair is a character like any other.
    [report] = reports().decode_batch(
        b"[" + with_raw(report_doc(), b"\\ud83d\\ude00") + b"]", now=NOW, new_id=lambda: "r"
    )
    assert report.remarks == "\U0001f600"
