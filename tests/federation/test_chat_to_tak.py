"""A partner's chat reaches TAK clients as the web map's does: a GeoChat in All Chat
Rooms, to each client whose principal may read its room and label (the hub carries only
what TAK clients say themselves)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from tessera.chat.service import ChatService
from tessera.chat.sqlite import SqliteChatLog
from tessera.codecs.federation import ChatItem
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Label, Principal
from tessera.federation.chat import take_chat
from tessera.security.scoping import IdScope
from tessera.transports.cot_stream.chat import send_chat
from tests.federation.support import run, until

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer

SCHEME = ClassificationScheme()
ROOM = Picture(
    name="NATO", rule=AdmissionRule(releasable_to="NATO"), reader_communities=("NATO", "UKR")
)
NATO = Principal(name="nato-phone", communities=("NATO",), clearance="SECRET")
UKR = Principal(name="ukr-phone", communities=("UKR",), clearance="SECRET")


class Outbox:
    def __init__(self) -> None:
        self.wires: list[Any] = []

    def put_message(self, wire: Any) -> None:
        self.wires.append(wire)


def test_a_partners_message_goes_to_the_tak_clients_that_may_read_it() -> None:
    async def scenario() -> None:
        now = datetime.now(UTC)
        chat = ChatService(
            log_=SqliteChatLog(":memory:"),
            pictures={ROOM.name: ROOM},
            scheme=SCHEME,
            clock=lambda: now,
        )
        chat.start()
        sessions = [SimpleNamespace(principal=p, outbox=Outbox()) for p in (NATO, UKR)]
        server = SimpleNamespace(
            tessera=SimpleNamespace(chat=chat),
            settings=SimpleNamespace(cot_stale_s=60.0),
            sessions=lambda: sessions,
        )
        relaying = asyncio.create_task(send_chat(cast("CotServer", server)))
        try:
            await asyncio.sleep(0)  # it listens to the rooms
            item = ChatItem(
                "m1", "a", ("a",), "alpha", "ANDROID-1", "contact north", now,
                Label("RESTRICTED", ("NATO",)),
            )  # fmt: skip
            taken = take_chat(
                [item],
                link="a",
                node="b",
                ceiling=SCHEME.rank("SECRET"),
                scheme=SCHEME,
                pictures=[ROOM],
                ids=IdScope(b"s" * 32),
                now=now,
            )
            assert len(chat.relayed(taken.messages)) == 1
            nato, ukr = (session.outbox for session in sessions)
            await until(lambda: bool(nato.wires) or relaying.done(), "the message to be sent")
            assert not relaying.done(), relaying.exception()
            event = nato.wires[0].event
            assert event.type == "b-t-f" and "contact north" in (event.remarks or "")
            assert event.uid.startswith("GeoChat.federation.a.ANDROID-1")
            assert ukr.wires == []
        finally:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)
            chat.stop()

    run(scenario())
