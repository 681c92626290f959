"""A picture's chat room shared by the web map and TAK clients over TLS, both ways: a web
user's message reaches the TAK users who may read its room, as a GeoChat in All Chat
Rooms; a TAK user's message to All Chat Rooms reaches the rooms that admit its label (the
API's history, the stream's ``chat`` messages). A partner's readers and TAK users get
none of another picture's room, and a TAK user's message to one teammate reaches only
that teammate, never a room."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tessera.core.model import Label, Principal, Role
from tests.support import bearer
from tests.transports.cot_support import CotReader, LiveCot
from tests.transports.test_cot_addressing import pytak_client, uids
from tests.transports.test_cot_stream import (
    chat,
    position,
    provision_certificate,
    pytak_config,
    run_cot,
)

pytestmark = pytest.mark.slow
NATO_PHONE = ("--communities", "NATO", "--clearance", "SECRET", "--roles", "viewer,reporter",
              "--default-label", "RESTRICTED:NATO")  # fmt: skip
UKR_PHONE = ("--communities", "UKR", "--clearance", "CONFIDENTIAL", "--roles",
             "viewer,reporter", "--default-label", "RESTRICTED:UKR")  # fmt: skip
PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {
        "name": "REL-UKR",
        "rule": {"max_classification": "CONFIDENTIAL", "releasable_to": "UKR"},
        "reader_communities": ["UKR"],
    },
]
OFFICER = Principal(
    name="nato-officer",
    communities=("NATO",),
    clearance="SECRET",
    roles=(Role.VIEWER,),
    default_label=Label("RESTRICTED", ("NATO",)),
)
LIAISON = Principal(
    name="ukr-liaison",
    communities=("UKR",),
    clearance="CONFIDENTIAL",
    roles=(Role.VIEWER,),
    default_label=Label("RESTRICTED", ("UKR",)),
)


def direct(sender: str, teammate: str, callsign: str, text: str, message_id: str) -> bytes:
    """ATAK's message to one teammate: its room is the teammate, no ``<marti>``."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="GeoChat.{sender}.{callsign}.{message_id}" type="b-t-f" '
        f'how="h-g-i-g-o" time="{stamp}" start="{stamp}" stale="2030-11-25T10:00:00Z">'
        '<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail>'
        f'<__chat parent="RootContactGroup" groupOwner="false" chatroom="{callsign}" '
        f'id="{teammate}" senderCallsign="{sender}"><chatgrp uid0="{sender}" '
        f'uid1="{teammate}" id="{teammate}"/></__chat>'
        f'<link uid="{sender}" type="a-f-G-U-C" relation="p-p"/>'
        f'<remarks source="BAO.F.ATAK.{sender}" to="{teammate}" time="{stamp}">{text}</remarks>'
        "</detail></event>"
    ).encode()


async def stream(live: LiveCot, token: str, picture: str) -> ClientConnection:
    connection = await websockets.connect(live.live.ws_url, additional_headers=bearer(token))
    await connection.send(json.dumps({"type": "subscribe", "picture": picture}))
    return connection


async def chat_texts(connection: ClientConnection, until: str) -> list[str]:
    """The texts of the ``chat`` messages on the stream, up to and with ``until``."""
    texts: list[str] = []
    while until not in texts:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if message["type"] == "chat":
            texts += [said["text"] for said in message["messages"]]
    return texts


def said(reader: CotReader) -> list[str]:
    return [event.remarks or "" for event in reader.events if event.type == "b-t-f"]


def test_a_room_is_shared_by_the_web_and_tak_clients_and_kept_from_others(
    tmp_path: Path,
) -> None:
    phones = {
        name: provision_certificate(tmp_path, f"{name}-phone", name, *flags, uid=f"ANDROID-{name}")
        for name, flags in (
            ("alpha", NATO_PHONE), ("bravo", NATO_PHONE), ("charlie", NATO_PHONE),
            ("ukr", UKR_PHONE), ("late", NATO_PHONE),
        )
    }  # fmt: skip

    async def scenario(live: LiveCot) -> None:
        officer = await live.live.grant(OFFICER)
        liaison = await live.live.grant(LIAISON)
        url = f"tls://127.0.0.1:{live.ports['cot-tls']}"
        async with AsyncExitStack() as stack:
            client = {
                name: await pytak_client(stack, pytak_config(url, **phones[name]))
                for name in phones
                if name != "late"
            }
            reader = {name: c.reader for name, c in client.items() if c.reader is not None}
            for n, name in enumerate(client):
                await client[name].send(
                    position(f"ANDROID-{name}", 53 + n / 10, 18.0, name.upper())
                )
            for name in ("alpha", "charlie"):
                await reader[name].wait_for(lambda e: e.uid == "ANDROID-bravo")
            await reader["bravo"].wait_for(lambda e: e.uid == "ANDROID-charlie")
            nato_room = await stack.enter_async_context(await stream(live, officer, "NATO"))
            ukr_room = await stack.enter_async_context(await stream(live, liaison, "REL-UKR"))

            # Web to TAK: the NATO officer's message reaches the NATO phones...
            async with live.live.client(officer) as web:
                posted = await web.post(
                    "/api/v1/pictures/NATO/chat", json={"text": "hello from the web"}
                )
                assert posted.status_code == 201, posted.text
                refused = await web.post("/api/v1/pictures/REL-UKR/chat", json={"text": "x"})
                assert refused.status_code == 404
            for name in ("alpha", "bravo", "charlie"):
                got = await reader[name].wait_for(lambda e: e.type == "b-t-f")
                assert got.remarks == "[NATO] hello from the web"
                assert got.chat_sender == "nato-officer"
                assert got.chat_room == "All Chat Rooms"
            # ...and the partner's room and phone only their own.
            async with live.live.client(liaison) as web:
                posted = await web.post("/api/v1/pictures/REL-UKR/chat", json={"text": "privet"})
                assert posted.status_code == 201, posted.text
            await reader["ukr"].wait_for(lambda e: e.remarks == "[REL-UKR] privet")
            assert said(reader["ukr"]) == ["[REL-UKR] privet"]

            # TAK to web: ALPHA in All Chat Rooms, then to BRAVO alone, then again to all.
            await client["alpha"].send(chat("ANDROID-alpha", "from the field", message_id="1"))
            await client["alpha"].send(
                direct("ANDROID-alpha", "ANDROID-bravo", "BRAVO", "for bravo only", "2")
            )
            await client["alpha"].send(chat("ANDROID-alpha", "fence", message_id="3"))
            await reader["bravo"].wait_for(lambda e: e.remarks == "for bravo only")
            await reader["charlie"].wait_for(lambda e: e.remarks == "fence")
            assert "for bravo only" not in said(reader["charlie"])
            assert await chat_texts(nato_room, "fence") == [
                "hello from the web", "from the field", "fence",
            ]  # fmt: skip
            assert await chat_texts(ukr_room, "privet") == ["privet"]
            async with live.live.client(officer) as web:
                history = (await web.get("/api/v1/pictures/NATO/chat")).json()
            assert [m["text"] for m in history["messages"]] == [
                "hello from the web", "from the field", "fence",
            ]  # fmt: skip
            assert history["messages"][1]["sender"] == "ANDROID-alpha"
            assert history["messages"][1]["via"] == "tak"
            assert history["messages"][1]["label"] == {
                "classification": "RESTRICTED", "releasable_to": ["NATO"],
            }  # fmt: skip
            async with live.live.client(liaison) as web:
                ukr_history = (await web.get("/api/v1/pictures/REL-UKR/chat")).json()
                nato_history = await web.get("/api/v1/pictures/NATO/chat")
            assert [m["text"] for m in ukr_history["messages"]] == ["privet"]
            assert nato_history.status_code == 404
            # The partner's phone heard none of NATO's room, the direct message not at all.
            assert said(reader["ukr"]) == ["[REL-UKR] privet"]
            assert not {"GeoChat.ANDROID-alpha.BRAVO.2"} & uids(reader["ukr"])

            # A NATO phone that connects now is given the room's recent chat, from the web
            # and from the field, and nothing of the partner's room nor the direct message.
            late = await pytak_client(stack, pytak_config(url, **phones["late"]))
            assert late.reader is not None
            await late.reader.wait_for(lambda e: e.remarks == "[NATO] hello from the web")
            await late.reader.wait_for(lambda e: e.remarks == "fence")
            assert sorted(said(late.reader)) == sorted(
                ["[NATO] hello from the web", "from the field", "fence"]
            )

    run_cot(tmp_path, scenario, pictures=PICTURES)
