"""TAK addressing and deletes with real clients over TLS, in XML and in TAK protocol
version 1 (a client that negotiated it): an event addressed with ``<marti><dest …/>``
reaches only the clients it names, is never kept for later clients nor journaled; a
delete (``t-x-d-d``) from an item's author or an operator removes it for everyone, and
anyone else's is dropped and audited."""

from __future__ import annotations

import asyncio
import configparser
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import takproto

from tessera.security.audit_filter import AuditFilter
from tessera.security.base import AuditEvent
from tests.transports.cot_support import CotReader, LiveCot
from tests.transports.test_cot_stream import (
    TAKP_REQUEST,
    PytakClient,
    chat,
    position,
    provision_certificate,
    pytak_config,
    run_cot,
)

pytestmark = pytest.mark.slow
FIELD = ("--communities", "NATO", "--clearance", "SECRET", "--default-label", "RESTRICTED:NATO")


def to(**dest: str) -> str:
    """A ``<marti>`` naming one destination."""
    attributes = " ".join(f'{name}="{value}"' for name, value in dest.items())
    return f"<marti><dest {attributes}/></marti>"


def marker(uid: str, sender: str, lat: float, marti: str = "") -> bytes:
    """A hostile spot ``sender`` placed, said now (``marti``: its addressing)."""
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stale = (now + timedelta(minutes=10)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="{uid}" type="a-h-G" how="h-g-i-g-o" time="{stamp}" '
        f'start="{stamp}" stale="{stale}"><point lat="{lat}" lon="18.0" hae="0" ce="30" '
        f'le="9999999"/><detail><contact callsign="{uid}"/>'
        f'<link uid="{sender}" type="a-f-G-U-C" relation="p-p"/>{marti}</detail></event>'
    ).encode()


def delete(uid: str, target: str) -> bytes:
    """ATAK's delete of ``target`` (``uid``: the delete's own)."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="{uid}" type="t-x-d-d" how="h-g-i-g-o" time="{stamp}" '
        f'start="{stamp}" stale="{stamp}"><point lat="0" lon="0" hae="0" ce="9999999" '
        f'le="9999999"/><detail><link uid="{target}" relation="none" type="none"/>'
        "<__forcedelete/></detail></event>"
    ).encode()


def message_uid(sender: str, message_id: str) -> str:
    return f"GeoChat.{sender}.All Chat Rooms.{message_id}"


def uids(reader: CotReader) -> set[str]:
    return {event.uid for event in reader.events}


def deleted(reader: CotReader) -> set[str]:
    """The uids of the deletes ``reader`` received."""
    return {event.uid for event in reader.events if event.type == "t-x-d-d"}


class NegotiatedClient:
    """A TLS client that asks for TAK protocol version 1 and then speaks only protobuf."""

    def __init__(self, reader: CotReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self._writer = writer

    async def send(self, xml: bytes) -> None:
        self._writer.write(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM))
        await self._writer.drain()

    def protobuf_uids(self) -> set[str]:
        return {str(message.cotEvent.uid) for message in self.reader.raw_protobuf}


@asynccontextmanager
async def negotiated(port: int, files: dict[str, str]) -> AsyncIterator[NegotiatedClient]:
    context = ssl.create_default_context(cafile=files["PYTAK_TLS_CLIENT_CAFILE"])
    context.load_cert_chain(files["PYTAK_TLS_CLIENT_CERT"], files["PYTAK_TLS_CLIENT_KEY"])
    stream, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    reader = CotReader(stream)
    reading = asyncio.create_task(reader.run())
    try:
        await reader.wait_for(lambda e: e.type == "t-x-takp-v")
        writer.write(TAKP_REQUEST)
        await reader.wait_for(lambda e: e.type == "t-x-takp-r")
        yield NegotiatedClient(reader, writer)
    finally:
        reading.cancel()
        writer.close()


async def pytak_client(stack: AsyncExitStack, config: configparser.SectionProxy) -> PytakClient:
    client = await stack.enter_async_context(PytakClient(config))
    assert client.reader is not None
    await client.reader.wait_for(lambda e: e.type == "t-x-takp-v")
    return client


async def audited(live: LiveCot, action: str, count: int) -> list[AuditEvent]:
    """The audit events of ``action``, once there are ``count``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        await live.live.tessera.audit.flush()
        found = await live.live.tessera.security.audit(AuditFilter(action=action))
        if len(found) >= count:
            return found
        assert loop.time() < deadline, found
        await asyncio.sleep(0.05)


async def journaled_subjects(live: LiveCot, *prefixes: str) -> list[str]:
    """The subjects of the journal's reports, once one starts with each of ``prefixes``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        entries = await live.live.tessera.journal.read(0, 10_000)
        subjects = [e.report.subject or "" for e in entries if e.report is not None]
        if all(any(s.startswith(prefix) for s in subjects) for prefix in prefixes):
            return subjects
        assert loop.time() < deadline, subjects
        await asyncio.sleep(0.05)


def test_addressed_chat_and_markers_reach_only_the_named_client(tmp_path: Path) -> None:
    phones = {
        name: provision_certificate(
            tmp_path, f"{name}-phone", name, *FIELD, "--roles", "reporter", uid=f"ANDROID-{name}"
        )
        for name in ("alpha", "bravo", "charlie", "delta")
    }

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-tls"]
        url = f"tls://127.0.0.1:{port}"
        async with AsyncExitStack() as stack:
            alpha = await pytak_client(stack, pytak_config(url, **phones["alpha"]))
            bravo = await stack.enter_async_context(negotiated(port, phones["bravo"]))
            charlie = await pytak_client(stack, pytak_config(url, **phones["charlie"]))
            assert alpha.reader and charlie.reader
            await alpha.send(position("ANDROID-alpha", 53.1, 18.0, "ALPHA"))
            await bravo.send(position("ANDROID-bravo", 53.2, 18.0, "BRAVO"))
            await charlie.send(position("ANDROID-charlie", 53.3, 18.0, "CHARLIE"))
            # Each has heard the others: the server knows every callsign.
            await alpha.reader.wait_for(lambda e: e.uid == "ANDROID-charlie")
            await alpha.reader.wait_for(lambda e: e.uid == "ANDROID-bravo")
            await charlie.reader.wait_for(lambda e: e.uid == "ANDROID-bravo")

            # In XML, to BRAVO by callsign and then by uid.
            for step, dest in (("1", to(callsign="BRAVO")), ("2", to(uid="ANDROID-bravo"))):
                await alpha.send(chat("ANDROID-alpha", "for bravo", message_id=step, marti=dest))
                await alpha.send(marker(f"spot-a{step}", "ANDROID-alpha", 53.4, dest))
            # In TAK protocol, to CHARLIE likewise.
            for step, dest in (("1", to(callsign="CHARLIE")), ("2", to(uid="ANDROID-charlie"))):
                await bravo.send(chat("ANDROID-bravo", "for charlie", message_id=step, marti=dest))
                await bravo.send(marker(f"spot-b{step}", "ANDROID-bravo", 53.5, dest))
            # Then a public marker from each: all before it has been and gone.
            await alpha.send(marker("public-a", "ANDROID-alpha", 53.6))
            await bravo.send(marker("public-b", "ANDROID-bravo", 53.7))
            for reader, public in (
                (alpha.reader, "public-b"), (bravo.reader, "public-a"),
                (charlie.reader, "public-a"), (charlie.reader, "public-b"),
            ):  # fmt: skip
                await reader.wait_for(lambda e, uid=public: e.uid == uid)

            from_alpha = {message_uid("ANDROID-alpha", "1"), message_uid("ANDROID-alpha", "2"),
                          "spot-a1", "spot-a2"}  # fmt: skip
            from_bravo = {message_uid("ANDROID-bravo", "1"), message_uid("ANDROID-bravo", "2"),
                          "spot-b1", "spot-b2"}  # fmt: skip
            assert from_alpha <= bravo.protobuf_uids()
            assert from_bravo <= uids(charlie.reader)
            assert not from_alpha & uids(charlie.reader)
            assert not from_bravo & uids(alpha.reader)
            said = [e for e in charlie.reader.events if e.uid == message_uid("ANDROID-bravo", "1")]
            assert said[0].remarks == "for charlie" and "<marti>" in said[0].detail_xml

            # A client that connects later gets neither, nor are they journaled.
            delta = await pytak_client(stack, pytak_config(url, **phones["delta"]))
            assert delta.reader
            await delta.reader.wait_for(lambda e: e.uid == "public-b")
            await delta.reader.wait_for(lambda e: e.uid == "public-a")
            assert not (from_alpha | from_bravo) & uids(delta.reader)
        # Markers are journaled under their sender's own scope (``uid~…``).
        subjects = await journaled_subjects(live, "public-a", "public-b")
        assert not [subject for subject in subjects if subject.startswith("spot-")]

    run_cot(tmp_path, scenario)


def test_only_the_author_or_an_operator_deletes_a_shared_item(tmp_path: Path) -> None:
    phones = {
        name: provision_certificate(
            tmp_path, f"{name}-phone", name, *FIELD, "--roles", roles, uid=f"ANDROID-{name}"
        )
        for name, roles in (
            ("alpha", "reporter"),
            ("bravo", "reporter"),
            ("charlie", "reporter"),
            ("watcher", "viewer"),
            ("ops", "viewer,operator"),
            ("late", "viewer"),
        )
    }

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-tls"]
        url = f"tls://127.0.0.1:{port}"
        async with AsyncExitStack() as stack:
            alpha = await pytak_client(stack, pytak_config(url, **phones["alpha"]))
            bravo = await stack.enter_async_context(negotiated(port, phones["bravo"]))
            charlie = await pytak_client(stack, pytak_config(url, **phones["charlie"]))
            watcher = await pytak_client(stack, pytak_config(url, **phones["watcher"]))
            ops = await pytak_client(stack, pytak_config(url, **phones["ops"]))
            assert alpha.reader and charlie.reader and watcher.reader
            await alpha.send(marker("mark-a", "ANDROID-alpha", 53.1))
            await bravo.send(marker("mark-b", "ANDROID-bravo", 53.2))
            await charlie.send(marker("mark-c", "ANDROID-charlie", 53.3))
            for reader, uid in (
                (bravo.reader, "mark-a"), (charlie.reader, "mark-a"), (alpha.reader, "mark-b"),
                (charlie.reader, "mark-b"), (alpha.reader, "mark-c"), (bravo.reader, "mark-c"),
            ):  # fmt: skip
                await reader.wait_for(lambda e, uid=uid: e.uid == uid)

            # Not the author, not an operator: dropped and audited, in XML and protobuf.
            await charlie.send(delete("del-charlie", "mark-a"))
            await watcher.send(delete("del-watcher", "mark-a"))
            await bravo.send(delete("del-bravo", "mark-a"))
            denied = await audited(live, "cot.delete", 3)
            assert {(e.principal, e.outcome, e.target) for e in denied} == {
                ("charlie", "denied", "mark-a"), ("watcher", "denied", "mark-a"),
                ("bravo", "denied", "mark-a"),
            }  # fmt: skip
            assert {e.detail["author"] for e in denied} == {"alpha"}
            assert live.cot.hub.held("mark-a") is not None

            # The author, in XML and in protobuf; an operator, of somebody else's.
            await alpha.send(delete("del-alpha", "mark-a"))
            await bravo.send(delete("del-bravo-b", "mark-b"))
            await ops.send(delete("del-ops", "mark-c"))
            for reader, uid in (
                (bravo.reader, "del-alpha"), (charlie.reader, "del-alpha"),
                (alpha.reader, "del-bravo-b"), (charlie.reader, "del-bravo-b"),
                (alpha.reader, "del-ops"), (bravo.reader, "del-ops"),
                (watcher.reader, "del-ops"),
            ):  # fmt: skip
                found = await reader.wait_for(lambda e, uid=uid: e.uid == uid)
                assert found.type == "t-x-d-d"
            assert "del-alpha" in bravo.protobuf_uids()
            assert not {"del-charlie", "del-watcher", "del-bravo"} & (
                deleted(alpha.reader) | deleted(bravo.reader) | deleted(charlie.reader)
            )
            allowed = await audited(live, "cot.delete", 6)
            assert {(e.principal, e.target) for e in allowed if e.outcome == "ok"} == {
                ("alpha", "mark-a"), ("bravo", "mark-b"), ("ops", "mark-c"),
            }  # fmt: skip

            # A later client gets none of them.
            late = await pytak_client(stack, pytak_config(url, **phones["late"]))
            assert late.reader
            await alpha.send(marker("mark-fence", "ANDROID-alpha", 53.4))
            await late.reader.wait_for(lambda e: e.uid == "mark-fence")
            assert not {"mark-a", "mark-b", "mark-c"} & uids(late.reader)

    run_cot(tmp_path, scenario)


def test_a_new_client_gets_recent_public_chat_once(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with AsyncExitStack() as stack:
            sender = await pytak_client(stack, pytak_config(url))
            await sender.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
            old = datetime.now(UTC) - timedelta(hours=2)
            await sender.send(chat("alpha-1", "yesterday's news", message_id="old", at=old))
            await sender.send(chat("alpha-1", "recent", message_id="recent"))
            await sender.send(chat("alpha-1", "recent", message_id="recent"))
            await sender.send(chat("alpha-1", "private", message_id="private",
                                   marti=to(callsign="BRAVO")))  # fmt: skip
            await sender.send(chat("alpha-1", "last", message_id="last"))
            await sender.send(position("alpha-1", 53.2, 18.0, "ALPHA"))
            witness = await pytak_client(stack, pytak_config(url))
            assert witness.reader
            # Its last event is there: the server has taken all the sender's events.
            await witness.reader.wait_for(lambda e: e.uid == "alpha-1" and abs(e.lat - 53.2) < 1e-6)
            # What the hub holds arrives in one write, the chat before the position.
            late = await pytak_client(stack, pytak_config(url))
            assert late.reader
            await late.reader.wait_for(lambda e: e.uid == "alpha-1" and abs(e.lat - 53.2) < 1e-6)
            said = [e.uid for e in late.reader.events if e.type == "b-t-f"]
            assert sorted(said) == sorted(
                [message_uid("alpha-1", "recent"), message_uid("alpha-1", "last")]
            )

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


def test_no_chat_on_connect_when_the_window_is_zero(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with AsyncExitStack() as stack:
            sender = await pytak_client(stack, pytak_config(url))
            await sender.send(chat("alpha-1", "recent", message_id="recent"))
            await sender.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
            witness = await pytak_client(stack, pytak_config(url))
            assert witness.reader
            await witness.reader.wait_for(lambda e: e.uid == "alpha-1")
            late = await pytak_client(stack, pytak_config(url))
            assert late.reader
            await late.reader.wait_for(lambda e: e.uid == "alpha-1")
            assert not [e for e in late.reader.events if e.type == "b-t-f"]

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", cot_chat_replay_s=0)
