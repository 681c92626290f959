"""GeoChat (CoT ``b-t-f``) as ATAK, WinTAK and iTAK write it, both ways. Pure: no I/O.

A message names its room in ``<__chat chatroom= id=>`` and its members in
``<chatgrp uid0= uid1= … id=>``: ``uid0`` is the sender, the others whoever it is for.
A message to All Chat Rooms (``id="All Chat Rooms"``) is for everyone who may read it.
Any other is private: a direct message names its one teammate (``uid1``, and the room's
``id`` is that teammate's uid), a group message its members; a team's room with no
members named (``chatroom="Cyan"``) is for that team (the ``__group`` each client gives).
A private message whose members cannot be read goes to no one, never to everyone.

Out: a web user's message, as a GeoChat from that user to All Chat Rooms.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from lxml import etree

from tessera.codecs.cot import parse_event
from tessera.codecs.cot_detail import REREAD_MAX_DEPTH
from tessera.codecs.cot_model import CotEvent, cot_time
from tessera.codecs.cot_reports import is_chat
from tessera.codecs.cot_routing import (
    MAX_DESTINATIONS,
    MAX_NAME_CHARS,
    Destinations,
    destinations,
)
from tessera.codecs.cot_safe_xml import parse_fragment
from tessera.core.text import without_control_characters

ALL_CHAT_ROOMS: Final = "All Chat Rooms"
FRIENDLY_GROUND_UNIT: Final = "a-f-G-U-C"
_MEMBER_PREFIX: Final = "uid"


def addressing(event: CotEvent) -> Destinations | None:
    """Whom any event is for: its ``<marti>`` destinations, else a private GeoChat's
    members; None for everyone who may read it. ``CotError`` if unreadable."""
    found = destinations(event)
    return found if found is not None else chat_recipients(event)


def chat_recipients(event: CotEvent) -> Destinations | None:
    """Whom a GeoChat message is for: None for everyone (All Chat Rooms, or a chat that
    names no room), else the members it names (``Destinations()``: no one)."""
    if not is_chat(event):
        return None
    chat = _chat_element(event)
    room = event.chat_id or event.chat_room
    if chat is None:
        return None if room is None or room == ALL_CHAT_ROOMS else _private(event, room, [])
    room = chat.get("id") or chat.get("chatroom")
    if room is None or room == ALL_CHAT_ROOMS:
        return None
    groups = chat.findall("chatgrp")
    members = [
        str(value).strip()
        for group in groups
        for name, value in group.attrib.items()
        if str(name).startswith(_MEMBER_PREFIX) and str(name) != "uid0"
    ]
    return _private(event, room, members, sender=_sender(groups))


def is_room_message(event: CotEvent) -> bool:
    """Whether a chat is for everyone who may read it: a message for a picture's room."""
    return is_chat(event) and chat_recipients(event) is None


def sender_callsign(event: CotEvent) -> str:
    return event.chat_sender or event.callsign or event.uid


def geochat_event(
    *,
    sender_uid: str,
    callsign: str,
    message_id: str,
    text: str,
    lat: float,
    lon: float,
    now: datetime,
    stale_s: float,
) -> CotEvent:
    """A GeoChat message (``b-t-f``) to All Chat Rooms from ``sender_uid``, placed at
    ``lat``, ``lon``: the form TAK apps show in All Chat Rooms."""
    time = cot_time(now)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z"
    event = etree.Element("event")
    for name, value in (
        ("version", "2.0"),
        ("uid", f"GeoChat.{sender_uid}.{ALL_CHAT_ROOMS}.{message_id}"),
        ("type", "b-t-f"),
        ("how", "h-g-i-g-o"),
        ("time", stamp),
        ("start", stamp),
        ("stale", (cot_time(now + timedelta(seconds=stale_s))).strftime("%Y-%m-%dT%H:%M:%SZ")),
    ):
        event.set(name, value)
    point = etree.SubElement(event, "point")
    for name, number in (("lat", lat), ("lon", lon), ("hae", 0.0), ("ce", 9999999.0)):
        point.set(name, repr(number))
    point.set("le", "9999999.0")
    detail = etree.SubElement(event, "detail")
    chat = etree.SubElement(
        detail,
        "__chat",
        parent="RootContactGroup",
        groupOwner="false",
        chatroom=ALL_CHAT_ROOMS,
        id=ALL_CHAT_ROOMS,
        senderCallsign=without_control_characters(callsign),
    )
    etree.SubElement(chat, "chatgrp", uid0=sender_uid, uid1=ALL_CHAT_ROOMS, id=ALL_CHAT_ROOMS)
    etree.SubElement(detail, "link", uid=sender_uid, type=FRIENDLY_GROUND_UNIT, relation="p-p")
    remarks = etree.SubElement(
        detail, "remarks", source=f"BAO.F.ATAK.{sender_uid}", to=ALL_CHAT_ROOMS, time=stamp
    )
    remarks.text = without_control_characters(text)
    return parse_event(etree.tostring(event))


def _private(
    event: CotEvent, room: str, members: list[str], sender: str | None = None
) -> Destinations:
    uids = {
        uid
        for uid in members
        if uid and uid != sender and uid != ALL_CHAT_ROOMS and len(uid) <= MAX_NAME_CHARS
    }
    if uids:
        return Destinations(uids=frozenset(sorted(uids)[:MAX_DESTINATIONS]))
    # No member named: a team's room (its name is the team's), else no one.
    if len(room) <= MAX_NAME_CHARS and room != event.uid:
        return Destinations(groups=frozenset({room}))
    return Destinations()


def _sender(groups: list[etree._Element]) -> str | None:
    for group in groups:
        uid0 = group.get("uid0")
        if uid0:
            return uid0.strip()
    return None


def _chat_element(event: CotEvent) -> etree._Element | None:
    if "__chat" not in event.detail_xml:
        return None
    elements = parse_fragment(
        event.detail_xml,
        max_bytes=4 * len(event.detail_xml),
        max_depth=REREAD_MAX_DEPTH,
        where="detail",
    )
    return next((element for element in elements if element.tag == "__chat"), None)
