"""WebSocket /api/v1/stream: a snapshot, then changes, of one picture through a filter.

Tracks travel as ``features``/``upserts`` and ``removes``; overlays as ``overlays`` and
``overlay_removes`` (the bounding box filters both; identity and status only tracks).

The client's first message subscribes. A new subscriber gets a snapshot; one that gives
``since`` within the retained window gets only what it missed. After that, changes flow
from the subscriber's coalescing buffer: a slow client gets fewer, fresher updates and never
holds up the others. A heartbeat every few seconds carries the picture's sequence number
and the time, so a quiet picture is not mistaken for a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable
from typing import Literal

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from tessera.bus.base import Subscriber, overlay_key
from tessera.codecs.errors import JSON_DECODE_ERRORS, json_field_error
from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.core.model import Identity, TrackStatus
from tessera.security.gate import Caller
from tessera.security.policy import readable_pictures
from tessera.store.base import TrackQuery
from tessera.transports.web.alert_stream import send_alerts
from tessera.transports.web.auth import STREAM_PROTOCOL
from tessera.transports.web.chat_stream import send_chat
from tessera.transports.web.context import Served
from tessera.transports.web.history_stream import (
    ReplayRefusedError,
    replay,
    replay_start,
    until_closed,
)
from tessera.transports.web.params import ParameterError, parse_bbox
from tessera.transports.web.refusals import record_refused_read

SUBSCRIBE_TIMEOUT_S = 30.0
MAX_SUBSCRIBE_BYTES = 16_384
POLICY_VIOLATION = 1008


class Subscribe(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: Literal["subscribe"]
    picture: str | None = None
    since: int | None = None
    bbox: list[float] | None = None
    identity: list[Identity] | None = None
    status: list[TrackStatus] | None = None
    # A past time: the picture then, played forward at ``speed`` (history_stream).
    at: str | None = None
    speed: float | None = None


_subscribe_decoder = msgspec.json.Decoder(Subscribe)


class BadSubscriptionError(ValueError):
    pass


def _parse_subscription(data: str | bytes) -> Subscribe:
    if len(data) > MAX_SUBSCRIBE_BYTES:
        raise BadSubscriptionError("the subscription message is too large")
    try:
        return _subscribe_decoder.decode(data)
    except JSON_DECODE_ERRORS as exc:
        problem = json_field_error(exc, data)
        where = "" if problem.field == "$" else f"{problem.field}: "
        raise BadSubscriptionError(f"invalid subscription: {where}{problem.reason}") from None


async def _first_message(websocket: WebSocket) -> str | bytes:
    """The client's first message, text or binary (JSON either way)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text: str | None = message.get("text")
    if text is not None:
        return text
    data: bytes | None = message.get("bytes")
    return b"" if data is None else data


def _query(subscribe: Subscribe) -> TrackQuery:
    try:
        bbox = None if subscribe.bbox is None else parse_bbox("bbox", subscribe.bbox)
    except ParameterError as exc:
        raise BadSubscriptionError(str(exc)) from None
    return TrackQuery(
        bbox=bbox,
        identities=None if subscribe.identity is None else frozenset(subscribe.identity),
        statuses=None if subscribe.status is None else frozenset(subscribe.status),
    )


def _readable(tessera: Served, who: Caller) -> list[str]:
    pictures = readable_pictures(who.principal, tessera.pictures.values(), tessera.scheme)
    return [picture.name for picture in pictures]


async def stream(websocket: WebSocket) -> None:
    tessera: Served = websocket.app.state.tessera
    who: Caller = websocket.state.caller
    offered = websocket.scope.get("subprotocols", ())
    await websocket.accept(subprotocol=STREAM_PROTOCOL if STREAM_PROTOCOL in offered else None)
    try:
        first = await asyncio.wait_for(_first_message(websocket), SUBSCRIBE_TIMEOUT_S)
        subscribe = _parse_subscription(first)
        query = _query(subscribe)
        readable = _readable(tessera, who)
        name = subscribe.picture or (readable[0] if readable else "")
        # The same answer whether it does not exist or is not for this caller.
        if name not in readable:
            record_refused_read(tessera, who, "stream.subscribe", subscribe.picture)
            raise BadSubscriptionError(f"no picture named {name!r}")
        if subscribe.at is not None:
            at, speed = replay_start(tessera, subscribe.at, subscribe.speed)
    except (BadSubscriptionError, ReplayRefusedError, TimeoutError) as exc:
        reason = str(exc) or "no subscription received in time"
        with contextlib.suppress(Exception):
            await websocket.send_text(encode({"type": "error", "reason": reason}).decode())
            await websocket.close(POLICY_VIOLATION)
        return
    except (WebSocketDisconnect, RuntimeError):
        return
    if subscribe.at is not None:
        await replay(tessera, websocket, who, name, query, at, speed)
        return
    await _serve(tessera, websocket, who, name, query, subscribe.since)


async def _serve(
    tessera: Served,
    websocket: WebSocket,
    who: Caller,
    picture: str,
    query: TrackQuery,
    since: int | None,
) -> None:
    subscriber = Subscriber(query, visible=None)
    resumed = since is not None and tessera.bus.attach(picture, subscriber, since)
    snapshot: bytes | None = None
    if not resumed:
        # No await between the snapshot and attaching from its seq: every change after
        # the snapshot lands in the buffer (on a gateway, whose copy of the picture may
        # trail the change feed, that includes what the copy has yet to apply).
        seq, tracks = tessera.store.tracks(picture, query)
        _, overlays = tessera.store.overlays(picture, query)
        keys: list[Hashable] = [track.id for track in tracks]
        keys += [overlay_key(overlay.id) for overlay in overlays]
        subscriber.reset_visible(keys)
        tessera.bus.attach(picture, subscriber, seq)
        snapshot = encode(
            {
                "type": "snapshot",
                "picture": picture,
                "seq": seq,
                "features": [track_feature(track) for track in tracks],
                "overlays": [overlay_feature(overlay) for overlay in overlays],
            }
        )
    try:
        async with asyncio.TaskGroup() as group:
            closed = group.create_task(until_closed(websocket))
            pump = group.create_task(_pump(tessera, websocket, who, picture, subscriber, snapshot))
            alerts = group.create_task(send_alerts(tessera, websocket, who, picture))
            chat = group.create_task(send_chat(tessera, websocket, who, picture))
            await asyncio.wait({closed, pump}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            pump.cancel()
            alerts.cancel()
            chat.cancel()
    except* (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        tessera.bus.detach(picture, subscriber)


async def _pump(
    tessera: Served,
    websocket: WebSocket,
    who: Caller,
    picture: str,
    subscriber: Subscriber,
    snapshot: bytes | None,
) -> None:
    if snapshot is not None:
        await websocket.send_text(snapshot.decode())
    heartbeat = tessera.settings.heartbeat_s
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while True:
        # A long-lived connection ends when its token is revoked or expires, or its
        # holder is disabled: checked once a heartbeat, busy picture or not.
        if loop.time() - checked >= heartbeat:
            checked = loop.time()
            if not await tessera.gate.still_valid(who):
                reason = "your token is no longer valid: sign in again"
                await websocket.send_text(encode({"type": "error", "reason": reason}).decode())
                await websocket.close(POLICY_VIOLATION)
                return
        try:
            changes = await asyncio.wait_for(subscriber.take(), heartbeat)
        except TimeoutError:
            seq = tessera.bus.last_seq(picture) if subscriber.pending_count() == 0 else None
            beat = {"type": "heartbeat", "seq": seq, "time": tessera.clock()}
            await websocket.send_text(encode(beat).decode())
            continue
        if not changes:
            continue
        tracks = [change for change in changes if change.kind == "track"]
        overlays = [change for change in changes if change.kind == "overlay"]
        message = {
            "type": "changes",
            "picture": picture,
            "seq": changes[-1].seq,
            "upserts": [c.feature for c in tracks if c.feature is not None],
            "removes": [c.item_id for c in tracks if c.feature is None],
            "overlays": [c.feature for c in overlays if c.feature is not None],
            "overlay_removes": [c.item_id for c in overlays if c.feature is None],
        }
        await websocket.send_text(encode(message).decode())
