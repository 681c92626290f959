"""Chat across federation links: a room's message the link releases reaches the readers
of the partner's rooms that admit its label (marked as from the link and its origin
node), within the partner's ceiling; nothing else is on the wire; a link resumes its
chat after outages losing and doubling nothing; in a triangle each message is held once
on every node; a protocol 1 peer gets no chat, and a protocol not spoken is refused."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets
from benchmarks.impairment import Impairment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from tessera.app import Tessera
from tessera.chat.service import ChatService
from tessera.chat.sqlite import SqliteChatLog
from tessera.codecs.federation import (
    Batch,
    ChatItem,
    FrameReader,
    FrameWriter,
    Hello,
    Refused,
    Welcome,
)
from tessera.core.chat import ChatMessage, ChatVia
from tessera.core.labels import (
    DEFAULT_PICTURE,
    AdmissionRule,
    ClassificationScheme,
    Picture,
    admits,
)
from tessera.core.model import Label, Principal
from tessera.federation.chat import released_chat, take_chat
from tessera.federation.chat_outbox import ChatOutbox
from tessera.federation.config import FederationLink
from tessera.security.scoping import IdScope
from tessera.server import HttpServer, bind
from tests.federation.support import (
    NATO_UNCLASSIFIED,
    RULE,
    Mesh,
    Node,
    labels,
    mesh,
    run,
    tapped_link,
    until,
)
from tests.support import ADMIN, Live, grant

ROOM = DEFAULT_PICTURE.name
OFFICER = Principal(name="officer", unrestricted=True, clearance="SECRET")
READER = Principal(name="reader", unrestricted=True, clearance="SECRET")
TRIANGLE = [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("a", "c"), ("c", "a")]


def say(node: Node, text: str, label: Label = NATO_UNCLASSIFIED) -> None:
    node.tessera.chat.post(OFFICER, ROOM, text, label)


def room_texts(tessera: Tessera) -> list[str]:
    return [m.text for m in tessera.chat.history(READER, ROOM, 1_000)]


def chat_settled(m: Mesh) -> bool:
    """Every dialling link's peer holds all of its node's chat journal."""
    return all(
        status.chat_position is not None and status.chat_position >= node.tessera.chat.last_seq
        for node in m.nodes.values()
        for status in node.tessera.federation.links.values()
        if status.link.peer is not None
    )


@contextlib.asynccontextmanager
async def web(tessera: Tessera) -> AsyncIterator[Live]:
    """``tessera``'s web API on a free loopback port, with an administrator's token."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = HttpServer(tessera, sock)
    token = await grant(tessera, ADMIN)
    await server.start()
    try:
        yield Live(tessera, f"{server.scheme}://127.0.0.1:{port}", token)
    finally:
        await server.stop()


async def streamed_chat(connection: ClientConnection) -> list[dict[str, Any]]:
    """The messages of the stream's next ``chat`` message."""
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if message["type"] == "chat":
            return list(message["messages"])


def test_a_released_message_reaches_the_partners_room_within_its_ceiling(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path, [("a", "b")], release=RULE, ceiling="RESTRICTED") as m:
            a, b = m.nodes["a"], m.nodes["b"]
            async with (
                web(b.tessera) as live,
                websockets.connect(live.ws_url, additional_headers=live.headers) as stream,
            ):
                await stream.send(json.dumps({"type": "subscribe", "picture": ROOM}))
                while json.loads(await asyncio.wait_for(stream.recv(), 10))["type"] != "snapshot":
                    pass
                say(a, "for NATO", Label("RESTRICTED", ("NATO",)))  # not released to POL
                say(a, "above the ceiling", Label("CONFIDENTIAL", ("POL",)))  # refused at b
                say(a, "for POL", Label("RESTRICTED", ("POL",)))  # crosses
                await until(lambda: chat_settled(m), "b to hold a's chat")
                (message,) = await streamed_chat(stream)
                async with live.client(timeout=10) as client:
                    history = (await client.get(f"/api/v1/pictures/{ROOM}/chat")).json()
            assert [said["text"] for said in history["messages"]] == ["for POL"]
            assert history["messages"][0] == message
            assert message["text"] == "for POL" and message["via"] == "federation"
            assert (message["origin"], message["author"], message["sender"]) == (
                "a",
                "a",
                "officer",
            )
            assert message["path"] == ["a"] and message["sender_uid"].startswith("federation.a.")
            assert b.status("a").refused_above_ceiling == 1
            assert b.status("a").chat_received == 1
            assert a.status("b").chat_sent == 2  # the rule's; the ceiling is b's to keep

    run(scenario())


def test_what_chat_crosses_is_exactly_what_the_rule_releases(tmp_path: Path) -> None:
    rule = Picture("link", AdmissionRule(**RULE))
    scheme = ClassificationScheme()
    numbers = itertools.count(1)
    sent: dict[str, bool] = {}
    with tapped_link(tmp_path) as link:
        a, b = link.mesh.nodes["a"], link.mesh.nodes["b"]

        @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(labels, min_size=1, max_size=6))
        def check(drawn: list[Label]) -> None:
            for label in drawn:
                text = f"marker-chat-{next(numbers):07d}"
                sent[text] = admits(rule, label, scheme)
                say(a, text, label)
            link.run(until(lambda: chat_settled(link.mesh), "b to hold a's chat"))
            released = {text for text, ok in sent.items() if ok}
            crossed = [
                item.text
                for frame in link.wire.frames()
                if isinstance(frame, Batch)
                for item in frame.items
                if isinstance(item, ChatItem)
            ]
            assert set(crossed) == released
            plain = link.wire.plain()
            assert not [text for text, ok in sent.items() if not ok and text.encode() in plain]
            assert sorted(room_texts(b.tessera)) == sorted(released)  # each once

        check()


def test_chat_resumes_after_resets_and_outages_losing_and_doubling_nothing(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        bad = Impairment(resets=0.05, seed=5)
        options: dict[str, Any] = {"batch_items": 3, "backoff_s": 0.05, "backoff_max_s": 0.2}
        async with mesh(tmp_path, [("a", "b")], impairment=bad, **options) as m:
            a, b = m.nodes["a"], m.nodes["b"]
            proxy, status = m.proxies[("a", "b")], a.status("b")
            made: list[str] = []
            for round_ in range(2):
                proxy.cut()
                for n in range(20):
                    made.append(f"round {round_} message {n}")
                    say(a, made[-1])
                proxy.restore()
                await until(lambda: chat_settled(m), "b to hold a's chat")
            await b.restart()
            say(a, "after b's restart")
            made.append("after b's restart")
            await until(lambda: chat_settled(m), "b to hold a's chat again")
            assert status.reconnects >= 2
            await a.restart()  # its link starts afresh: b's Welcome says where chat resumes
            say(a, "after a's restart")
            made.append("after a's restart")
            await until(lambda: chat_settled(m), "b to hold a's chat after a's restart")
            assert a.status("b").chat_sent == 1  # nothing b held was sent again
            assert room_texts(b.tessera) == made  # in order, each once

    run(scenario())


def test_in_a_triangle_each_message_is_held_once_on_each_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path, TRIANGLE) as m:
            said = []
            for name, node in m.nodes.items():
                for n in range(5):
                    said.append(f"{name} says {n}")
                    say(node, said[-1])
            await until(lambda: chat_settled(m), "every link to hold every node's chat")
            for node in m.nodes.values():
                held = Counter(room_texts(node.tessera))
                assert sorted(held) == sorted(said), node.name
                assert set(held.values()) == {1}, node.name

    run(scenario())


def test_a_protocol_1_peer_is_sent_no_chat() -> None:
    chat = ChatService(
        log_=SqliteChatLog(":memory:"),
        pictures={ROOM: DEFAULT_PICTURE},
        scheme=ClassificationScheme(),
        clock=lambda: datetime.now(UTC),
    )
    chat.start()
    try:
        chat.post(OFFICER, ROOM, "hello", Label("UNCLASSIFIED", ("NATO",)))
        link = FederationLink(name="b", release=AdmissionRule(), ceiling="SECRET")
        outbox = ChatOutbox(link, "a", chat, ClassificationScheme())
        outbox.resume(None)  # its Welcome had no chat position
        assert outbox.batch("b") is None
        outbox.resume(0)
        batch = outbox.batch("b")
        assert batch is not None and [item.text for item in batch[0]] == ["hello"]
    finally:
        chat.stop()


async def first_frame(port: int, hello: Hello) -> object:
    """What a listener answers ``hello`` with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(FrameWriter().frame(hello))
        await writer.drain()
        frames: list[object] = []
        incoming = FrameReader()
        while not frames:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data, "the listener closed without a word"
            frames += incoming.feed(data)
        return frames[0]
    finally:
        writer.close()


def test_a_protocol_1_sender_is_welcomed_without_chat_and_one_not_spoken_is_refused(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path, [("a", "b")], tls=False) as m:
            b = m.nodes["b"]
            await until(lambda: b.status("a").inbound == 1, "a's link to b to be up")
            welcome = await first_frame(b.port, Hello("a", protocol=1))
            assert isinstance(welcome, Welcome) and welcome.chat_resume is None
            refused = await first_frame(b.port, Hello("a", protocol=99))
            assert isinstance(refused, Refused)
            assert "protocol 99 is not spoken here (1 to 2 are)" in refused.reason

    run(scenario())


def test_a_message_that_has_been_here_or_began_here_is_refused_and_counted() -> None:
    now = datetime.now(UTC)

    def item(message_id: str, origin: str, path: tuple[str, ...], text: str) -> ChatItem:
        return ChatItem(
            message_id, origin, path, "alpha", "ANDROID-1", text, now, NATO_UNCLASSIFIED
        )

    taken = take_chat(
        [
            item("m1", "a", ("a", "b"), "began here"),
            item("m2", "x", ("x", "a", "b"), "passed through here"),
            item("m3", "b", ("b",), "new\x07 "),
            item("m4", "b", ("b",), "\x00\x01"),  # no text once cleaned
        ],
        link="b",
        node="a",
        ceiling=ClassificationScheme().rank("SECRET"),
        scheme=ClassificationScheme(),
        pictures=[DEFAULT_PICTURE],
        ids=IdScope(b"s" * 32),
        now=now,
    )
    assert (taken.loops, taken.implausible) == (2, 1)
    assert [(m.text, m.origin, m.via) for m in taken.messages] == [("new", "b", ChatVia.FEDERATION)]


def test_outbound_chat_never_goes_back_to_where_it_came_from() -> None:
    now = datetime.now(UTC)
    heard = ChatMessage(
        id="local",
        picture=ROOM,
        sender="alpha",
        sender_uid="federation.c.ANDROID-1",
        author="c",
        text="from c",
        sent_at=now,
        label=NATO_UNCLASSIFIED,
        via=ChatVia.FEDERATION,
        origin="c",
        origin_id="m1",
        path=("c",),
    )
    rule = Picture("link", AdmissionRule())
    scheme = ClassificationScheme()
    assert released_chat([heard], rule=rule, scheme=scheme, node="a", peer="c") == []
    (onward,) = released_chat([heard, heard], rule=rule, scheme=scheme, node="a", peer="b")
    assert (onward.id, onward.origin, onward.path, onward.sender_uid) == (
        "m1",
        "c",
        ("c", "a"),
        "ANDROID-1",
    )
