"""Chat in a real browser during a live exercise, with a TAK client over TLS (a client
certificate from `tessera certs client`): a message typed in the NATO officer's chat
panel reaches the NATO phone as a GeoChat in All Chat Rooms, and the phone's reply
appears in the panel. The partner's phone and the partner's panel get none of it. Takes
the chat screenshot (into docs/ under `make screenshots`)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tessera.cli import main as cli_main
from tessera.codecs.cot import CotEvent, parse_event
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import DOCS, chromium, csp_violations, running_demo, sign_in_by_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_S = 30.0


class TakPhone:
    """A TAK client over TLS speaking CoT XML; every event it receives is kept."""

    def __init__(self, connection: ssl.SSLSocket) -> None:
        self._connection = connection
        self._buffer = b""
        self.events: list[CotEvent] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while data := self._connection.recv(1 << 16):
                self._buffer += data
                while (end := self._buffer.find(b"</event>")) >= 0:
                    document, self._buffer = self._buffer[: end + 8], self._buffer[end + 8 :]
                    with self._arrived:
                        self.events.append(parse_event(document.strip()))
                        self._arrived.notify_all()
        except OSError:
            return  # the phone hung up while reading (ssl.SSLError is an OSError too)

    def hang_up(self) -> None:
        """Stop reading, then close: never close the socket under a reading thread."""
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)
        self._reader.join(WAIT_S)
        self._connection.close()

    def send(self, xml: str) -> None:
        self._connection.sendall(xml.encode())

    def wait_for(self, predicate: Callable[[CotEvent], bool]) -> CotEvent:
        deadline = time.monotonic() + WAIT_S
        with self._arrived:
            while True:
                found = next((event for event in self.events if predicate(event)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                assert remaining > 0, [event.uid for event in self.events]
                self._arrived.wait(remaining)

    def chat(self) -> list[str]:
        with self._arrived:
            return [event.remarks or "" for event in self.events if event.type == "b-t-f"]


@contextmanager
def phone(data: Path, port: int, name: str, *principal: str) -> Iterator[TakPhone]:
    """A phone of a new principal, as an operator would issue it, connected."""
    assert cli_main(["users", "add", name, "--data", str(data), *principal]) == 0
    issue = ["certs", "client", f"{name}-cert", "--principal", name, "--data", str(data)]
    assert cli_main([*issue, "--uid", f"ANDROID-{name}"]) == 0
    clients = data / "certs" / "clients"
    context = ssl.create_default_context(cafile=str(data / "certs" / "ca.pem"))
    context.load_cert_chain(str(clients / f"{name}-cert.pem"), str(clients / f"{name}-cert.key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    connection = context.wrap_socket(raw, server_hostname="127.0.0.1")
    connection.settimeout(None)
    try:
        tak_phone = TakPhone(connection)
    except BaseException:
        connection.close()
        raise
    try:
        yield tak_phone
    finally:
        tak_phone.hang_up()


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def position(uid: str, callsign: str) -> str:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="m-g" time="{stamp(now)}" '
        f'start="{stamp(now)}" stale="{stamp(now + timedelta(minutes=5))}">'
        '<point lat="53.12" lon="18.0" hae="50" ce="10" le="9999999"/>'
        f'<detail><contact callsign="{callsign}"/></detail></event>'
    )


def geochat(uid: str, callsign: str, text: str) -> str:
    """ATAK's message to All Chat Rooms."""
    now = stamp(datetime.now(UTC))
    room = "All Chat Rooms"
    return (
        f'<event version="2.0" uid="GeoChat.{uid}.{room}.reply-1" type="b-t-f" how="h-g-i-g-o" '
        f'time="{now}" start="{now}" stale="2030-01-01T00:00:00Z"><point lat="0" lon="0" '
        'hae="0" ce="9999999" le="9999999"/><detail><__chat parent="RootContactGroup" '
        f'groupOwner="false" chatroom="{room}" id="{room}" senderCallsign="{callsign}">'
        f'<chatgrp uid0="{uid}" uid1="{room}" id="{room}"/></__chat>'
        f'<link uid="{uid}" type="a-f-G-U-C" relation="p-p"/>'
        f'<remarks source="BAO.F.ATAK.{uid}" to="{room}" time="{now}">{text}</remarks>'
        "</detail></event>"
    )


NATO_PHONE = ("--communities", "NATO", "--clearance", "SECRET", "--roles", "viewer,reporter",
              "--default-label", "SECRET:NATO")  # fmt: skip
UKR_PHONE = ("--communities", "UKR", "--clearance", "CONFIDENTIAL", "--roles",
             "viewer,reporter", "--default-label", "RESTRICTED:UKR")  # fmt: skip


def test_chat_between_the_panel_and_a_tak_client(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # The phones first: issuing their certificates runs an event loop of its own, which
    # Playwright's (in this thread) would refuse.
    with (
        running_demo(data) as demo,
        phone(data, demo.ports["cot-tls"], "nato-phone", *NATO_PHONE) as nato,
        phone(data, demo.ports["cot-tls"], "ukr-phone", *UKR_PHONE) as ukr,
        chromium() as browser,
    ):
        officer = browser.new_context(viewport=VIEWPORT)
        liaison = browser.new_context(viewport=VIEWPORT)
        try:
            nato.send(position("ANDROID-nato-phone", "VIKING 6"))
            ukr.send(position("ANDROID-ukr-phone", "SOKIL 2"))
            page = officer.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            page.locator("#chat-form").wait_for()
            assert page.input_value("#chat-classification") == "SECRET"

            # Typed in the panel: it reaches the phone, in All Chat Rooms.
            page.fill("#chat-text", "Bridge at MGRS 33UXU 100 200 is clear")
            page.click("#chat-send")
            heard = nato.wait_for(lambda e: e.type == "b-t-f")
            assert heard.remarks == "[NATO-SECRET] Bridge at MGRS 33UXU 100 200 is clear"
            assert heard.chat_sender == "nato-officer"
            assert heard.chat_room == "All Chat Rooms"
            page.locator("#chat-list li.web", has_text="Bridge at MGRS").wait_for()

            # The phone's reply appears in the panel.
            nato.send(geochat("ANDROID-nato-phone", "VIKING 6", "Copy, moving to the bridge"))
            reply = page.locator("#chat-list li.tak", has_text="Copy, moving to the bridge")
            reply.wait_for(timeout=WAIT_S * 1000)
            assert "VIKING 6" in (reply.text_content() or "")
            assert "SECRET REL NATO" in (reply.text_content() or "")
            # The room in view for the picture: the alerts folded away.
            page.click("#alert-section summary")
            page.locator("#chat-form").scroll_into_view_if_needed()
            page.screenshot(path=str(DOCS / "screenshot-chat.png"))

            # The partner says something in its own room: its phone hears that, and
            # (being after the NATO room's messages) nothing of the NATO room.
            other = liaison.new_page()
            sign_in_by_link(other, demo.logins["ukr-liaison"])
            other.fill("#chat-text", "privet")
            other.click("#chat-send")
            ukr.wait_for(lambda e: e.remarks == "[REL-UKR] privet")
            assert ukr.chat() == ["[REL-UKR] privet"]
            other.locator("#chat-list li", has_text="privet").wait_for()
            assert other.locator("#chat-list li").count() == 1
            assert refused == []
        finally:
            officer.close()
            liaison.close()
