"""JSON from clients that msgspec cannot read (bytes that are not UTF-8, nesting past the
recursion limit) and free text with control characters: clean errors naming the problem,
never another exception. Text already stored before the rule still loads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tessera.codecs.errors import NESTED_TOO_DEEPLY, UNPAIRED_SURROGATE, DecodeError, FieldError
from tessera.codecs.json import ReportCodec, ReportPolicy, decode_stored_report, encode_report
from tessera.codecs.overlay_json import OverlayCodec, decode_stored_revision
from tessera.core.labels import DEFAULT_LEVELS, ClassificationScheme
from tessera.core.model import Label
from tessera.core.overlays import OverlayRevision
from tessera.core.text import FREE_TEXT_RULE

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


@pytest.mark.parametrize(
    "text", ["ctl\u0001name", "nul\u0000", "esc\u001b[31m", "del\u007f", "\ufffe"]
)
def test_control_characters_in_free_text_are_refused_naming_the_field(text: str) -> None:
    [error] = batch_errors(json.dumps([report_doc(remarks=text)]).encode())
    assert (error.index, error.field, error.reason) == (0, "remarks", FREE_TEXT_RULE)
    for field in ("name", "remarks"):
        doc = overlay_doc(**{field: text})
        [error] = overlay_errors(json.dumps(doc).encode())
        assert (error.field, error.reason) == (field, FREE_TEXT_RULE)


def test_tab_line_feed_carriage_return_and_other_scripts_are_free_text() -> None:
    text = "line one\r\nline two\tzażółć\u00a0\u0085\u4e2d"
    [report] = reports().decode_batch(
        json.dumps([report_doc(remarks=text)]).encode(), now=NOW, new_id=lambda: "r"
    )
    assert report.remarks == text
    overlay = overlays().decode(
        json.dumps(overlay_doc(name=text, remarks=text)).encode(),
        overlay_id="o1",
        author="me",
        default_label=LABEL,
    )
    assert (overlay.name, overlay.remarks) == (text, text)


def test_text_stored_before_the_rule_still_loads() -> None:
    [report] = reports().decode_batch(
        json.dumps([report_doc(remarks="fine")]).encode(), now=NOW, new_id=lambda: "r"
    )
    old = msgspec.structs.replace(report, remarks="ctl\u0001remarks")
    assert decode_stored_report(encode_report(old)) == old
    overlay = overlays().decode(
        json.dumps(overlay_doc(name="fine")).encode(),
        overlay_id="o1",
        author="me",
        default_label=LABEL,
    )
    old_overlay = msgspec.structs.replace(overlay, name="ctl\u0001name", remarks="\u0007")
    revision = OverlayRevision(id="v1", overlay_id="o1", overlay=old_overlay)
    assert decode_stored_revision(msgspec.json.encode(revision)) == revision
