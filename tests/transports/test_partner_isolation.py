"""Partners cannot see, erase or forge each other's items, nor learn that they exist.

Hypothesis draws interleavings of two principals' writes: reports, retractions, CoT and
NVG imports and overlays, with ids (report ids, idempotency keys, a file's ids, subjects)
chosen from one small pool so that they collide. For each principal, the same writes run on
two servers: one with everything the other principal wrote, one with only what of it the
first may read. Every answer the first principal got, and everything it reads afterwards
over REST, the stream, the OGC API, the exports and TAK, must be the same on both: nothing
of the rest, not even its existence, shows. And nothing acknowledged to either is lost.

Both servers share the deployment secret (ids are scoped with it) and a clock that does
not move, so the only differences left are times within the same second, which are
compared to the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.app import Tessera, build
from tessera.codecs.cot import CotEvent
from tessera.core.model import Label, Principal, Role
from tessera.security.base import SourceGrant
from tessera.security.policy import may_read_label
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tessera.security.tokens import IssuedToken, issue
from tessera.server import HttpServer, bind
from tessera.settings import load_settings
from tessera.transports.cot_stream.listeners import start_cot
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml
from tests.support import bearer
from tests.transports.cot_support import CotReader

T0: Final = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SECRET: Final = bytes(range(32))
UKR = Principal(
    name="ukr-liaison",
    communities=("UKR",),
    clearance="CONFIDENTIAL",
    roles=(Role.VIEWER, Role.REPORTER),
)
NATO = Principal(
    name="nato-officer",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER, Role.REPORTER),
)
PEOPLE: Final = {"ukr": UKR, "nato": NATO}
OTHER: Final = {"ukr": "nato", "nato": "ukr"}
PICTURE: Final = {"ukr": "UKR", "nato": "NATO"}
# What each may label its writes: readable by the other, or not.
LABELS: Final = {
    "ukr": (Label("RESTRICTED", ("NATO", "UKR")), Label("CONFIDENTIAL", ("UKR",))),
    "nato": (Label("RESTRICTED", ("NATO", "UKR")), Label("SECRET", ("NATO",))),
}
PICTURES: Final = [
    {
        "name": "UKR",
        "rule": {"max_classification": "CONFIDENTIAL", "releasable_to": "UKR"},
        "reader_communities": ["UKR"],
    },
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
]
SOURCES: Final = [
    {"principal": "ukr-liaison", "ids": ["ukr-*"]},
    {"principal": "nato-officer", "ids": ["nato-*"]},
]
KEYS: Final = ("k1", "k2")
# Subjects: none, one nobody owns, the writer's own unit, the other's unit.
SUBJECTS: Final = (None, "m1", "own", "theirs")
PLACES: Final = ((53.100, 18.000), (53.1003, 18.0004), (53.300, 18.400))
TIMESTAMP: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?")
PORT: Final = re.compile(r"127\.0\.0\.1:\d+")


@dataclass(frozen=True)
class Write:
    who: str
    kind: str
    key: str
    label: int
    place: int
    subject: str | None

    def label_of(self) -> Label:
        return LABELS[self.who][self.label]


writes = st.lists(
    st.builds(
        Write,
        who=st.sampled_from(("ukr", "nato")),
        kind=st.sampled_from(("report", "unit", "retraction", "cot", "nvg", "overlay")),
        key=st.sampled_from(KEYS),
        label=st.integers(0, 1),
        place=st.integers(0, len(PLACES) - 1),
        subject=st.sampled_from(SUBJECTS),
    ),
    min_size=1,
    max_size=8,
)


def seen_by(observer: str, history: list[Write]) -> list[Write]:
    """The history as it would be had the other written only what ``observer`` may read."""
    person = PEOPLE[observer]
    scheme = load_settings().scheme
    return [
        write
        for write in history
        if write.who == observer or may_read_label(person, write.label_of(), scheme)
    ]


@given(history=writes)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_nothing_a_partner_may_not_read_changes_anything_it_gets(history: list[Write]) -> None:
    # The same tokens on every server: a token's id is in what /me answers.
    tokens = {who: issue(person.name, now=T0, expires_at=None) for who, person in PEOPLE.items()}

    async def check() -> None:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            for observer in ("ukr", "nato"):
                everything = await world(root / f"all-{observer}", tokens, history, observer)
                seen = seen_by(observer, history)
                readable = await world(root / f"seen-{observer}", tokens, seen, observer)
                assert everything.answers == readable.answers, observer
                assert everything.reads == readable.reads, observer
                assert everything.lost == [] and readable.lost == []

    asyncio.run(asyncio.wait_for(check(), 300))


@dataclass
class Observed:
    answers: list[Any]
    reads: dict[str, Any]
    lost: list[str]


async def world(
    data: Path, issued: dict[str, IssuedToken], history: list[Write], observer: str
) -> Observed:
    tokens = await provision(data, issued)
    async with serving(data, PEOPLE[observer].name) as (tessera, base, cot_port):
        answers: list[tuple[Write, Any]] = []
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for write in history:
                answer = await send(client, tokens[write.who], write)
                answers.append((write, answer))
                assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 30)
            reads = await read_everything(client, base, cot_port, tokens[observer], observer)
        lost = await unkept(tessera, [answer for _, answer in answers])
    mine = [answer for write, answer in answers if write.who == observer]
    return Observed(mine, reads, lost)


async def provision(data: Path, issued: dict[str, IssuedToken]) -> dict[str, str]:
    """Both principals, their sources and tokens, and the deployment's secret."""
    store = SqliteSecurityStore(security_store_path(data))
    await store.open()
    tokens: dict[str, str] = {}
    try:
        for who, person in PEOPLE.items():
            await store.add_principal(person)
            await store.add_source_grant(SourceGrant(principal=person.name, pattern=f"{who}-*"))
            await store.add_token(issued[who].record)
            tokens[who] = issued[who].token
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(security_store_path(data))) as conn:
        conn.execute("INSERT INTO secrets (name, value) VALUES ('ids', ?)", (SECRET,))
        conn.commit()
    return tokens


@contextlib.asynccontextmanager
async def serving(data: Path, tak_principal: str) -> AsyncIterator[tuple[Tessera, str, int]]:
    settings = load_settings(
        data_dir=data,
        pictures=PICTURES,
        tick_interval_s=0.02,
        # Not used here; a free port (None would leave the default).
        cot_tls_port=0,
        cot_tcp_port=0,
        cot_tcp_principal=tak_principal,
    )
    # A clock that never moves: every time a server gives is the same second on both.
    tessera = build(settings, clock=lambda: T0)
    await tessera.start()
    sock = bind("127.0.0.1", 0)
    server = HttpServer(tessera, sock)
    ports: dict[str, int] = {}

    def announce(kind: str, bound: socket.socket) -> str:
        ports[kind] = bound.getsockname()[1]
        return ""

    cot = None
    try:
        cot = await start_cot(tessera, bind, announce)
        assert cot is not None
        await server.start()
        yield tessera, f"http://127.0.0.1:{sock.getsockname()[1]}", ports["cot"]
    finally:
        if cot is not None:
            await cot.stop()
        await server.stop()
        await tessera.stop()
        sock.close()


async def send(client: httpx.AsyncClient, token: str, write: Write) -> Any:
    headers = bearer(token)
    label = write.label_of()
    lat, lon = PLACES[write.place]
    own = f"{write.who}-bn-1"
    subject = {"own": own, "theirs": f"{OTHER[write.who]}-bn-1"}.get(
        write.subject or "", write.subject
    )
    params = {
        "classification": label.classification,
        "releasable_to": ",".join(label.releasable_to),
    }
    if write.kind in ("report", "unit", "retraction"):
        doc: dict[str, Any] = {
            "id": write.key if write.kind != "retraction" else f"retract-{write.key}",
            "source": {"id": f"{write.who}-uav-1", "kind": "uav"},
            "observed_at": iso(T0 - timedelta(seconds=5)),
            "position": {"lat": lat, "lon": lon, "ce": 30.0},
            "identity": "hostile",
            "grading": "B2",
            "label": {
                "classification": label.classification,
                "releasable_to": list(label.releasable_to),
            },
        }
        if write.kind == "unit":
            doc["source"] = {"id": subject or own, "kind": "unit"}
            doc["identity"] = "friend"
        if write.kind == "retraction":
            # Withdraws what its sender said of the subject: never what the other did.
            doc["retraction"] = True
            subject = subject or "m1"
        if subject is not None:
            doc["subject"] = subject
        response = await client.post("/api/v1/reports", json=[doc], headers=headers)
    elif write.kind == "cot":
        event = (
            f'<event version="2.0" uid="{subject or write.key}" type="a-h-G" how="m-g" '
            f'time="{iso(T0 - timedelta(seconds=5))}" start="{iso(T0 - timedelta(seconds=5))}" '
            f'stale="{iso(T0 + timedelta(hours=1))}"><point lat="{lat}" lon="{lon}" hae="0" '
            'ce="30" le="30"/></event>'
        )
        response = await client.post(
            "/api/v1/imports",
            params={**params, "source": f"{write.who}-c2"},
            content=event.encode(),
            headers=headers,
        )
    elif write.kind == "nvg":
        # A file's uri under one label each: the same uri again under another label is an
        # edit that relabels the overlay, which a reader sees withdrawn (not a new item).
        uri = f"{write.key}-{write.label}"
        nvg = (
            '<nvg xmlns="https://tide.act.nato.int/schemas/2012/10/nvg" version="2.0.2">'
            f'<polygon uri="{uri}" label="zone {write.key}" '
            f'points="{lon},{lat} {lon + 0.1},{lat} {lon + 0.1},{lat + 0.1} {lon},{lat}"/></nvg>'
        )
        response = await client.post(
            "/api/v1/imports", params=params, content=nvg.encode(), headers=headers
        )
    else:
        overlay = {
            "name": f"area {write.key}",
            "kind": "circle",
            "coordinates": [[lon, lat]],
            "radius_m": 500.0,
            "label": {
                "classification": label.classification,
                "releasable_to": list(label.releasable_to),
            },
        }
        response = await client.post(
            "/api/v1/overlays",
            json=overlay,
            headers={**headers, "idempotency-key": write.key},
        )
    return [response.status_code, normalised(response.text)]


async def read_everything(
    client: httpx.AsyncClient, base: str, cot_port: int, token: str, who: str
) -> dict[str, Any]:
    headers = bearer(token)
    picture = PICTURE[who]
    reads: dict[str, Any] = {}

    async def get(path: str, **params: str) -> Any:
        response = await client.get(path, params=params, headers=headers)
        reads[f"{path} {sorted(params.items())}"] = [
            response.status_code,
            normalised(response.text),
        ]
        return response

    await get("/api/v1/health")
    await get("/api/v1/me")
    tracks = (await get("/api/v1/tracks")).json()["features"]
    for track in tracks:
        detail = (await get(f"/api/v1/tracks/{track['id']}")).json()
        for report in detail["lineage"]["reports"]:
            await get(f"/api/v1/reports/{report['id']}")
    for key in (*KEYS, "none"):
        await get(f"/api/v1/reports/{key}")
    overlays = (await get("/api/v1/overlays")).json()["features"]
    for overlay in overlays:
        await get(f"/api/v1/overlays/{overlay['id']}")
    for kind in ("tracks", "overlays"):
        await get(f"/ogc/collections/{picture}-{kind}/items", bbox="-180,-90,180,90")
    await get("/ogc/collections")
    for export in ("geojson", "nvg", "kml"):
        exported = await get("/api/v1/export", picture=picture, format=export)
        if export == "kml":
            valid_kml(exported.content)
        if export == "nvg" and exported.status_code == 200:
            assert_valid_nvg(exported.content)
    reads["stream"] = await snapshot(base, token)
    reads["tak"] = await tak_snapshot(cot_port)
    return reads


async def snapshot(base: str, token: str) -> Any:
    url = base.replace("http://", "ws://") + "/api/v1/stream"
    async with websockets.connect(url, additional_headers=bearer(token)) as connection:
        await connection.send(json.dumps({"type": "subscribe"}))
        while True:
            message = json.loads(await connection.recv())
            if message["type"] == "snapshot":
                return normalised(json.dumps(message, sort_keys=True))


async def tak_snapshot(port: int) -> list[tuple[str, str, float, float, str | None]]:
    """What a TAK client of the observer's receives on connecting, once it is quiet."""
    reader_stream, writer = await asyncio.open_connection("127.0.0.1", port)
    reader = CotReader(reader_stream)
    task = asyncio.create_task(reader.run())
    try:
        await reader.wait_for(lambda e: e.type == "t-x-takp-v", 10)
        seen = -1
        while seen != len(reader.events):
            seen = len(reader.events)
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
        writer.close()
    return sorted(_tak_view(event) for event in reader.events if not event.type.startswith("t-"))


def _tak_view(event: CotEvent) -> tuple[str, str, float, float, str | None]:
    return (event.uid, event.type, round(event.lat, 6), round(event.lon, 6), event.callsign)


async def unkept(tessera: Tessera, answers: list[Any]) -> list[str]:
    """What was acknowledged (accepted report ids, overlay revisions) and is not stored."""
    entries = await tessera.journal.read(0, 100_000)
    stored = {e.report.id for e in entries if e.report} | {
        e.overlay.id for e in entries if e.overlay
    }
    acked: list[str] = []
    for status, body in answers:
        if status in (200, 201, 202):
            document = json.loads(body)
            acked += document.get("accepted", [])
            if "revision" in document:
                acked.append(document["revision"])
    return [key for key in acked if key not in stored]


def normalised(text: str) -> str:
    """Times to the second (both servers' clocks say the same second; the microseconds
    the journal adds to keep received times apart are not content), and no port."""
    return PORT.sub("127.0.0.1:PORT", TIMESTAMP.sub(r"\1", text))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
