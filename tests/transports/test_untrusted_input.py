"""Untrusted input over HTTP and the stream: JSON msgspec cannot read (bytes that are not
UTF-8, nesting past the recursion limit), binary frames and control characters in free
text answer 422 (or an error message) naming the problem, and log nothing at ERROR.
Text stored before control characters were refused still exports and reloads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from lxml import etree

from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tessera.core.text import FREE_TEXT_RULE
from tessera.transports.web.export import FORMATS
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml
from tests.support import Live, live_server, report_doc

Scenario = Callable[[Live, httpx.AsyncClient], Awaitable[None]]
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
JSON = {"content-type": "application/json"}


@contextlib.contextmanager
def errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Every ERROR record, uvicorn's too (its loggers do not propagate to the root)."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    caplog.set_level(logging.ERROR)
    errors: list[logging.LogRecord] = []
    try:
        yield errors
    finally:
        uvicorn.removeHandler(caplog.handler)
        errors.extend(r for r in caplog.records if r.levelno >= logging.ERROR)


def run_live(tmp_path: Path, caplog: pytest.LogCaptureFixture, scenario: Scenario) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, tick_interval_s=3600.0) as live,
            live.client(timeout=30) as client,
        ):
            with errors_logged(caplog) as errors:
                await asyncio.wait_for(scenario(live, client), 120)
            assert not errors, [record.getMessage() for record in errors]

    asyncio.run(main())


def with_raw(doc: Any, raw: bytes) -> bytes:
    """``doc`` as JSON with ``raw`` (any bytes) where its "PLACEHOLDER" text is."""
    return json.dumps(doc).encode().replace(b"PLACEHOLDER", raw)


def overlay(**changes: Any) -> dict[str, Any]:
    return {"name": "OP 1", "kind": "point", "coordinates": [[18.0, 53.0]], **changes}


def test_a_sign_in_that_is_not_utf8_or_too_deep_answers_422(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        anonymous = httpx.AsyncClient(base_url=live.base_url, timeout=30)
        async with anonymous:
            for body, problem in [
                (b'{"token": "tsr_\xff\xfe"}', "not valid UTF-8: byte 0xFF"),
                (b'{"token": "\\ud800"}', "surrogate"),
                (b"[" * 8000 + b"]" * 8000, "the body"),
                (b'{"token": ' + b"[" * 8000 + b"]" * 8000 + b"}", "token:"),
            ]:
                answer = await anonymous.post("/api/v1/login", content=body, headers=JSON)
                assert answer.status_code == 422, (body[:40], answer.text)
                assert problem in answer.json()["error"]

    run_live(tmp_path, caplog, scenario)


def test_reports_that_are_not_utf8_or_too_deep_answer_422_naming_the_problem(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        fine = report_doc(report_id="fine")
        bad = with_raw([fine, {**report_doc(), "remarks": "PLACEHOLDER"}], b"a\xffb")
        answer = await client.post("/api/v1/reports", content=bad, headers=JSON)
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert error["index"] == 1 and "not valid UTF-8" in error["reason"]
        for body in (DEEP, b"[" + DEEP_OBJECT + b"]"):
            answer = await client.post("/api/v1/reports", content=body, headers=JSON)
            assert answer.status_code == 422, answer.text
            assert "nested too deeply" in answer.json()["errors"][0]["reason"]
        assert await live.tessera.journal.reports(["fine"]) == {}

    run_live(tmp_path, caplog, scenario)


def test_overlays_that_are_not_utf8_or_too_deep_answer_422(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        not_utf8 = with_raw(overlay(name="PLACEHOLDER"), b"\xc3\x28")
        for body in (not_utf8, DEEP, DEEP_OBJECT):
            answer = await client.post("/api/v1/overlays", content=body, headers=JSON)
            assert answer.status_code == 422, (body[:40], answer.text)
            assert answer.json()["errors"][0]["reason"]
        created = await client.post("/api/v1/overlays", json=overlay())
        assert created.status_code == 201, created.text
        path = f"/api/v1/overlays/{created.json()['id']}"
        edit = await client.put(path, content=not_utf8, headers=JSON)
        assert edit.status_code == 422, edit.text
        assert "not valid UTF-8: byte 0xC3" in edit.json()["errors"][0]["reason"]

    run_live(tmp_path, caplog, scenario)


def test_control_characters_in_names_and_remarks_answer_422_naming_the_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        docs = [report_doc(report_id="r1"), {**report_doc(report_id="r2"), "remarks": "bell\u0007"}]
        answer = await client.post("/api/v1/reports", json=docs)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"] == [
            {"index": 1, "field": "remarks", "reason": FREE_TEXT_RULE}
        ]
        named = await client.post("/api/v1/reports", json=[{**report_doc(), "name": "esc\u001b"}])
        assert named.status_code == 422, named.text
        assert named.json()["errors"] == [{"index": 0, "field": "name", "reason": FREE_TEXT_RULE}]
        for field, text in (
            ("name", "ctl\u0001name"),
            ("remarks", "del\u007f"),
            ("name", "\uffff"),
        ):
            answer = await client.post("/api/v1/overlays", json=overlay(**{field: text}))
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"] == [
                {"index": None, "field": field, "reason": FREE_TEXT_RULE}
            ]
        created = await client.post("/api/v1/overlays", json=overlay(remarks="line\r\n\ttab"))
        assert created.status_code == 201, created.text
        path = f"/api/v1/overlays/{created.json()['id']}"
        edit = await client.put(path, json=overlay(name="esc\u001b[31m"))
        assert edit.status_code == 422, edit.text
        assert edit.json()["errors"][0]["field"] == "name"

    run_live(tmp_path, caplog, scenario)


def test_a_subscription_that_is_binary_not_utf8_or_unreadable_is_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        # JSON in a binary frame is a subscription like any other.
        connection = await websockets.connect(live.ws_url, additional_headers=live.headers)
        await connection.send(b'{"type": "subscribe"}')
        assert json.loads(await connection.recv())["type"] == "snapshot"
        await connection.close()
        messages: list[tuple[str | bytes, str]] = [
            (b'{"type": "subscribe", "picture": "\xff"}', "not valid UTF-8"),
            ('{"type": "subscribe", "picture": "\\ud800"}', "surrogate"),
            ("[" * 5000 + "]" * 5000, "subscription"),
            (b"\x00\x01", "subscription"),
        ]
        for message, problem in messages:
            connection = await websockets.connect(live.ws_url, additional_headers=live.headers)
            await connection.send(message)
            answer = json.loads(await connection.recv())
            assert answer["type"] == "error" and problem in answer["reason"], answer
            await connection.wait_closed()
            assert connection.close_code == 1008

    run_live(tmp_path, caplog, scenario)


def test_text_stored_before_the_rule_exports_in_every_format_and_reloads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Straight into the journal, as text accepted before control characters were refused.
    odd = Overlay(
        id="odd",
        name="ctl\u0001name",
        kind=OverlayKind.AREA,
        coordinates=((18.0, 53.0), (18.1, 53.0), (18.1, 53.1), (18.0, 53.0)),
        remarks="bell\u0007",
        label=Label("UNCLASSIFIED"),
        author="test-admin",
    )
    revision = OverlayRevision(id="rev-odd", overlay_id="odd", overlay=odd, by="test-admin")

    async def exports(client: httpx.AsyncClient) -> None:
        for kind in FORMATS:
            answer = await client.get("/api/v1/export", params={"format": kind})
            assert answer.status_code == 200, (kind, answer.text)
            if kind == "geojson":
                names = [f["properties"]["name"] for f in answer.json()["features"]]
                assert names == ["ctl\u0001name"]
                continue
            document = answer.content
            if kind == "nvg":
                assert_valid_nvg(document)
            if kind in ("kml", "kmz"):
                document = valid_kml(document)
            root = etree.fromstring(document)
            labels = [el.get("label") for el in root.iter("{*}polygon")]
            names = [el.text for el in root.iter("{*}name")]
            assert "ctl\ufffdname" in labels + names, kind

    async def stored(live: Live, client: httpx.AsyncClient) -> None:
        appended = await live.tessera.journal.append([revision])
        assert await live.tessera.worker.wait_caught_up(appended.last_seq, 10)
        await exports(client)

    async def reloaded(live: Live, client: httpx.AsyncClient) -> None:
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
        await exports(client)

    run_live(tmp_path, caplog, stored)
    run_live(tmp_path, caplog, reloaded)
