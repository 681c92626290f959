"""TAK clients join the picture: interoperability with pytak and takproto, over TCP, TLS
and UDP, in XML and in TAK protocol version 1."""

from __future__ import annotations

import asyncio
import configparser
import socket
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import takproto

from tessera.cli import main as cli_main
from tessera.core.model import Label, Principal, Report, Role
from tests.support import report_doc, track_of
from tests.transports.cot_support import CotReader, LiveCot, live_cot

with warnings.catch_warnings():
    # pytak warns at import that an optional web-socket package is missing.
    warnings.simplefilter("ignore")
    import pytak

pytestmark = pytest.mark.slow

FIELD = Principal(
    name="field",
    communities=("NATO",),
    clearance="RESTRICTED",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO",)),
)
NATO_PICTURE = {
    "name": "NATO",
    "rule": {"max_classification": "RESTRICTED", "releasable_to": "NATO"},
    "reader_communities": ["NATO"],
}
Scenario = Callable[[LiveCot], Awaitable[None]]


def run_cot(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_cot(tmp_path, [FIELD], **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def pytak_config(url: str, **extra: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser["client"] = {"COT_URL": url, "TAK_PROTO": "0", **extra}
    return parser["client"]


class PytakClient:
    """pytak's own connection and transmit worker; our reader on the receiving side."""

    def __init__(self, config: configparser.SectionProxy) -> None:
        self.config = config
        self.reader: CotReader | None = None
        self.tx: Any = None
        self._task: asyncio.Task[None] | None = None
        self._writer: Any = None

    async def __aenter__(self) -> PytakClient:
        reader, writer = await pytak.protocol_factory(self.config)
        self._writer = writer
        self.tx = pytak.TXWorker(asyncio.Queue(), self.config, writer)
        self.reader = CotReader(reader)
        self._task = asyncio.create_task(self.reader.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self._writer.close()

    async def send(self, data: bytes) -> None:
        await self.tx.send_data(data)

    async def until_closed(self, timeout: float) -> None:
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout)


def position(uid: str, lat: float, lon: float, callsign: str) -> bytes:
    event: bytes | None = pytak.gen_cot(
        lat=lat, lon=lon, ce=10, hae=0, le=10, uid=uid, stale=120, cot_type="a-f-G-U-C",
        callsign=callsign,
    )  # fmt: skip
    assert event is not None
    return event


def chat(
    sender_uid: str,
    text: str,
    *,
    message_id: str = "1",
    at: datetime | None = None,
    marti: str = "",
    room: str = "All Chat Rooms",
) -> bytes:
    """A GeoChat message as ATAK sends it (said now, unless ``at``); ``marti`` is put in
    its detail as given (addressing)."""
    stamp = (at or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="GeoChat.{sender_uid}.{room}.{message_id}" type="b-t-f" '
        f'how="h-g-i-g-o" time="{stamp}" start="{stamp}" '
        'stale="2030-11-25T10:00:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
        'le="9999999"/><detail><__chat parent="RootContactGroup" groupOwner="false" '
        f'chatroom="{room}" id="{room}" senderCallsign="{sender_uid}">'
        f'<chatgrp uid0="{sender_uid}" uid1="{room}" id="{room}"/></__chat>'
        f'<link uid="{sender_uid}" type="a-f-G-U-C" relation="p-p"/>{marti}'
        f'<remarks source="BAO.F.ATAK.{sender_uid}" time="{stamp}">{text}</remarks>'
        "</detail></event>"
    ).encode()


async def reports_about(live: LiveCot, subject: str, timeout: float = 10.0) -> list[Report]:
    """The journal's reports about ``subject``, once there is at least one."""
    journal = live.live.tessera.journal
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        entries = await journal.read(0, 100_000)
        found = [e.report for e in entries if e.report is not None and e.report.subject == subject]
        if found or asyncio.get_running_loop().time() > deadline:
            assert found, f"no report about {subject}"
            return found
        await asyncio.sleep(0.05)


def test_pytak_clients_over_tcp_share_positions_and_chat_and_see_the_picture(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        label = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
        async with live.live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports", json=[report_doc(report_id="h1", lat=53.2, label=label)]
            )
            assert posted.status_code in (200, 202), posted.text
        assert await live.live.tessera.worker.wait_caught_up(live.live.tessera.journal.last_seq, 10)
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with PytakClient(pytak_config(url)) as alpha, PytakClient(pytak_config(url)) as bravo:
            assert alpha.reader and bravo.reader
            # On connecting, the picture at once.
            h1 = track_of(live.live, "h1")
            track = await alpha.reader.wait_for(lambda e: e.uid.endswith(h1))
            assert track.type.startswith("a-") and track.sidc
            await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
            seen = await bravo.reader.wait_for(lambda e: e.uid == "alpha-1")
            assert seen.callsign == "ALPHA"
            await alpha.send(chat("alpha-1", "contact at the bridge"))
            message = await bravo.reader.wait_for(lambda e: e.type == "b-t-f")
            assert message.remarks == "contact at the bridge"
        # The position became a report of the field principal's, labelled by default.
        mine = await reports_about(live, "alpha-1")
        assert mine[0].label == Label("RESTRICTED", ("NATO",))

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", pictures=[NATO_PICTURE])


# -- TLS with certificates issued by `tessera certs` --------------------------------------


def provision_certificate(
    data: Path, name: str, principal: str, *add: str, uid: str | None = None
) -> dict[str, str]:
    """As an operator would: add the principal, make the CA (once), issue the client its
    certificate (bound to ``uid`` if given). The pytak settings that use it."""
    assert cli_main(["users", "add", principal, "--data", str(data), *add]) == 0
    if not (data / "certs" / "ca.pem").exists():
        assert cli_main(["certs", "init", "--data", str(data)]) == 0
    bound = [] if uid is None else ["--uid", uid]
    issue = ["certs", "client", name, "--principal", principal, "--data", str(data), *bound]
    assert cli_main(issue) == 0
    clients = data / "certs" / "clients"
    return {
        "PYTAK_TLS_CLIENT_CERT": str(clients / f"{name}.pem"),
        "PYTAK_TLS_CLIENT_KEY": str(clients / f"{name}.key"),
        "PYTAK_TLS_CLIENT_CAFILE": str(data / "certs" / "ca.pem"),
    }


def test_pytak_over_tls_with_a_certificate_from_tessera_certs_and_communities_kept_apart(
    tmp_path: Path,
) -> None:
    nato = provision_certificate(
        tmp_path, "nato-phone", "nato-user", "--communities", "NATO", "--clearance", "SECRET",
        "--roles", "viewer,reporter", "--default-label", "RESTRICTED:NATO",
    )  # fmt: skip
    nato_peer = provision_certificate(
        tmp_path, "nato-phone-2", "nato-peer", "--communities", "NATO", "--clearance", "SECRET",
        "--roles", "viewer,reporter", "--default-label", "RESTRICTED:NATO",
    )  # fmt: skip
    ukr = provision_certificate(
        tmp_path, "ukr-phone", "ukr-user", "--communities", "UKR", "--clearance", "CONFIDENTIAL",
        "--roles", "viewer,reporter", "--default-label", "RESTRICTED:UKR",
    )  # fmt: skip
    pictures = [
        {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
        {
            "name": "REL-UKR",
            "rule": {"max_classification": "CONFIDENTIAL", "releasable_to": "UKR"},
            "reader_communities": ["UKR"],
        },
    ]

    async def scenario(live: LiveCot) -> None:
        secret = {"classification": "SECRET", "releasable_to": ["NATO"]}
        shared = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
        async with live.live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports",
                json=[
                    report_doc(report_id="s1", lat=53.0, label=secret),
                    report_doc(report_id="u1", lat=54.0, label=shared),
                ],
            )
            assert posted.status_code in (200, 202), posted.text
        assert await live.live.tessera.worker.wait_caught_up(live.live.tessera.journal.last_seq, 10)
        url = f"tls://127.0.0.1:{live.ports['cot-tls']}"
        async with (
            PytakClient(pytak_config(url, **nato)) as nato_client,
            PytakClient(pytak_config(url, **nato_peer)) as peer,
            PytakClient(pytak_config(url, **ukr)) as ukr_client,
        ):
            assert nato_client.reader and peer.reader and ukr_client.reader
            s1, u1 = track_of(live.live, "s1"), track_of(live.live, "u1")
            await nato_client.reader.wait_for(lambda e: e.uid.endswith(f"NATO-{s1}"))
            await nato_client.reader.wait_for(lambda e: e.uid.endswith(f"NATO-{u1}"))
            await ukr_client.reader.wait_for(lambda e: e.uid.endswith(f"REL-UKR-{u1}"))
            await nato_client.send(position("nato-1", 53.3, 18.1, "NATO ONE"))
            await nato_client.send(chat("nato-1", "NATO eyes only"))
            # The NATO peer gets both, which proves the server has handled them...
            await peer.reader.wait_for(lambda e: e.uid == "nato-1")
            await peer.reader.wait_for(lambda e: e.type == "b-t-f")
            await asyncio.sleep(0.5)
            # ...and the partner none: not the secret track, not NATO's position or chat.
            seen = {event.uid for event in ukr_client.reader.events}
            assert not any(uid.endswith(s1) for uid in seen)
            assert "nato-1" not in seen
            assert not any(event.type == "b-t-f" for event in ukr_client.reader.events)
        mine = await reports_about(live, "nato-1")
        assert mine[0].source.id == "nato-1"

    run_cot(tmp_path, scenario, pictures=pictures)


def test_tls_refuses_no_certificate_a_foreign_one_and_a_revoked_one(tmp_path: Path) -> None:
    good = provision_certificate(
        tmp_path, "phone", "holder", "--communities", "NATO", "--clearance", "SECRET",
        "--roles", "viewer,reporter",
    )  # fmt: skip
    assert cli_main(["certs", "client", "old-phone", "--principal", "holder",
                     "--data", str(tmp_path)]) == 0  # fmt: skip
    assert cli_main(["certs", "revoke", "old-phone", "--data", str(tmp_path)]) == 0
    clients = tmp_path / "certs" / "clients"
    revoked = {
        **good,
        "PYTAK_TLS_CLIENT_CERT": str(clients / "old-phone.pem"),
        "PYTAK_TLS_CLIENT_KEY": str(clients / "old-phone.key"),
    }

    async def scenario(live: LiveCot) -> None:
        url = f"tls://127.0.0.1:{live.ports['cot-tls']}"
        async with PytakClient(pytak_config(url, **good)) as client:
            assert client.reader
            offer = await client.reader.wait_for(lambda e: e.type == "t-x-takp-v")
            assert offer.uid
        async with PytakClient(pytak_config(url, **revoked)) as client:
            assert client.reader
            # Closed without a word: no offer, no picture.
            await client.until_closed(10)
            assert client.reader.events == []

    run_cot(tmp_path, scenario)


# -- TAK protocol version 1 ---------------------------------------------------------------


TAKP_REQUEST = (
    b'<event version="2.0" uid="client-1" type="t-x-takp-q" how="m-g" '
    b'time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" stale="2030-11-25T10:00:00Z">'
    b'<point lat="0" lon="0" hae="0" ce="999999" le="999999"/>'
    b'<detail><TakControl><TakRequest version="1"/></TakControl></detail></event>'
)


def test_tak_protocol_after_negotiation_and_pytak_protobuf_without_it(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot"]
        url = f"tcp://127.0.0.1:{port}"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        negotiated = CotReader(reader)
        reading = asyncio.create_task(negotiated.run())
        try:
            await negotiated.wait_for(lambda e: e.type == "t-x-takp-v")
            writer.write(TAKP_REQUEST)
            answer = await negotiated.wait_for(lambda e: e.type == "t-x-takp-r")
            assert 'status="true"' in answer.detail_xml or "true" in answer.detail_xml
            proto_config = pytak_config(url, TAK_PROTO="1")
            async with (
                PytakClient(pytak_config(url)) as xml_peer,
                PytakClient(proto_config) as proto_peer,
            ):
                assert xml_peer.reader and proto_peer.reader
                # Negotiated client speaks protobuf now (takproto frames it)...
                frame = takproto.xml2proto(position("proto-1", 53.4, 18.2, "PROTO"),
                                           takproto.TAKProtoVer.STREAM)  # fmt: skip
                writer.write(frame)
                seen = await xml_peer.reader.wait_for(lambda e: e.uid == "proto-1")
                assert seen.callsign == "PROTO"
                # ...pytak in protobuf mode sends without negotiating...
                await proto_peer.send(position("pytak-proto", 53.5, 18.3, "PYTAK"))
                await xml_peer.reader.wait_for(lambda e: e.uid == "pytak-proto")
                # ...and both receive in protobuf, which takproto decodes.
                await negotiated.wait_for(lambda e: e.uid == "pytak-proto")
                await proto_peer.reader.wait_for(lambda e: e.uid == "proto-1")
                decoded = [m.cotEvent.uid for m in negotiated.raw_protobuf]
                assert "pytak-proto" in decoded
                # Chat in protobuf reaches the XML client as GeoChat.
                await proto_peer.send(chat("pytak-proto", "over protobuf"))
                said = await xml_peer.reader.wait_for(lambda e: e.type == "b-t-f")
                assert said.remarks == "over protobuf"
        finally:
            reading.cancel()
            writer.close()

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


# -- robustness ---------------------------------------------------------------------------


def test_bad_events_are_dropped_and_the_connection_keeps_working(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot"]
        url = f"tcp://127.0.0.1:{port}"
        async with PytakClient(pytak_config(url)) as peer:
            assert peer.reader
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sender = CotReader(reader)
            reading = asyncio.create_task(sender.run())
            laughs = (
                b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><event>&b;</event>'
            )
            external = (
                b'<!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<event uid="x">&x;</event>'
            )
            for bad in (
                b"<event><point/></event>",
                laughs,
                external,
                b"<event uid='" + b"x" * 70_000 + b"'/>",
            ):
                writer.write(bad)
            writer.write(position("after-garbage", 53.6, 18.4, "STILL HERE"))
            ping = (
                b'<event version="2.0" uid="c-ping" type="t-x-c-t" how="m-g" '
                b'time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" '
                b'stale="2030-11-25T10:00:00Z"><point lat="0" lon="0" hae="0" ce="999999" '
                b'le="999999"/><detail/></event>'
            )
            writer.write(ping)
            await peer.reader.wait_for(lambda e: e.uid == "after-garbage")
            await sender.wait_for(lambda e: e.type == "t-x-c-t-r")
            reading.cancel()
            writer.close()

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


def test_udp_mesh_events_are_ingested(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-udp"]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
        )
        try:
            transport.sendto(position("udp-xml", 53.7, 18.5, "UDP XML"))
            mesh = takproto.xml2proto(position("udp-mesh", 53.8, 18.6, "UDP MESH"),
                                      takproto.TAKProtoVer.MESH)  # fmt: skip
            transport.sendto(mesh)
            transport.sendto(b"not an event")
            # A mesh carries many clients' positions: each uid is a unit of its own.
            assert (await reports_about(live, "udp-xml"))[0].source.kind == "unit"
            assert (await reports_about(live, "udp-mesh"))[0].source.kind == "unit"
            # A TAK client connected afterwards gets both at once, as current state.
            url = f"tcp://127.0.0.1:{live.ports['cot']}"
            async with PytakClient(pytak_config(url)) as listener:
                assert listener.reader
                await listener.reader.wait_for(lambda e: e.uid == "udp-mesh")
                await listener.reader.wait_for(lambda e: e.uid == "udp-xml")
        finally:
            transport.close()

    run_cot(
        tmp_path, scenario, cot_udp_port=0, cot_udp_principal="field", cot_tcp_port=0,
        cot_tcp_principal="field",
    )  # fmt: skip


def test_a_silent_client_is_closed_and_never_blocks_others(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        # Connects to the TLS port and never starts the handshake.
        reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot-tls"])
        async with PytakClient(pytak_config(f"tcp://127.0.0.1:{live.ports['cot']}")) as other:
            assert other.reader
            await other.reader.wait_for(lambda e: e.type == "t-x-takp-v")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()

    run_cot(
        tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field",
        cot_handshake_timeout_s=0.5,
    )  # fmt: skip


def test_a_stalled_client_neither_delays_others_nor_grows_without_bound(tmp_path: Path) -> None:
    movers = 40
    rounds = 60

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot"]
        url = f"tcp://127.0.0.1:{port}"
        # Connects, then never reads: its kernel buffers fill, then its outbox.
        stalled_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stalled_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled_sock.connect(("127.0.0.1", port))
        _, stalled_writer = await asyncio.open_connection(sock=stalled_sock)
        async with (
            PytakClient(pytak_config(url)) as sender,
            PytakClient(pytak_config(url)) as watcher,
        ):
            assert watcher.reader
            for step in range(rounds):
                for mover in range(movers):
                    lat = 53.0 + mover * 0.01 + step * 1e-4
                    callsign = f"M{mover}-{step}"
                    await sender.send(position(f"mover-{mover}", lat, 18.0, callsign))
            # The reading client sees every mover's last position...
            for mover in range(movers):
                final = f"M{mover}-{rounds - 1}"
                await watcher.reader.wait_for(lambda e, final=final: e.callsign == final)
            # ...and the stalled one holds at most one pending event per object.
            stalled = [s for s in live.cot.sessions() if s.counts["events"] == 0]
            assert stalled and all(s.outbox.pending() <= movers + 5 for s in stalled)
        stalled_writer.close()

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


def test_an_idle_client_is_closed(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
        received = await asyncio.wait_for(reader.read(), 20)
        # The offer came, then nothing was heard from the client: closed.
        assert b"t-x-takp-v" in received
        writer.close()

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", cot_idle_timeout_s=0.5)


def test_a_viewer_only_client_listens_but_neither_reports_nor_shares(tmp_path: Path) -> None:
    watcher = Principal(
        name="watcher", communities=("NATO",), clearance="RESTRICTED", roles=(Role.VIEWER,),
        default_label=Label("RESTRICTED", ("NATO",)),
    )  # fmt: skip

    async def scenario(live: LiveCot) -> None:
        await live.live.grant(watcher)
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with PytakClient(pytak_config(url)) as listener:
            assert listener.reader
            await listener.send(position("watcher-1", 53.1, 18.0, "WATCHER"))
            await listener.send(position("watcher-2", 53.2, 18.0, "WATCHER"))
            await listener.reader.wait_for(lambda e: e.type == "t-x-takp-v")
            await asyncio.sleep(0.5)
        sessions_seen = await live.live.tessera.journal.read(0, 100)
        assert not [e for e in sessions_seen if e.report is not None]

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="watcher")


def marker(uid: str, sender_uid: str, lat: float, lon: float) -> bytes:
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stale = (now + timedelta(minutes=5)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'<event version="2.0" uid="{uid}" type="a-h-G" how="h-g-i-g-o" time="{stamp}" '
        f'start="{stamp}" stale="{stale}"><point lat="{lat}" lon="{lon}" hae="0" ce="30" '
        f'le="9999999"/><detail><contact callsign="Red Market"/><remarks>two trucks</remarks>'
        f'<link uid="{sender_uid}" type="a-f-G-U-C" parent_callsign="ALPHA" relation="p-p"/>'
        "</detail></event>"
    ).encode()


def test_a_marker_is_shared_and_becomes_a_spot_report(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with PytakClient(pytak_config(url)) as alpha, PytakClient(pytak_config(url)) as bravo:
            assert bravo.reader
            await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
            await alpha.send(marker("marker-1", "alpha-1", 53.15, 18.05))
            seen = await bravo.reader.wait_for(lambda e: e.uid == "marker-1")
            assert seen.type == "a-h-G" and seen.callsign == "Red Market"
        spotted = (await reports_about(live, "marker-1"))[0]
        assert spotted.source.id == "alpha-1" and spotted.source.kind == "human"
        assert spotted.identity == "hostile" and spotted.position.ce == 30.0

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")
