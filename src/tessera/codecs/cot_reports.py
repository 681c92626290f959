"""Between CoT events and Tessera's model: reports in, the picture out, and the control
events (ping, TAK protocol negotiation) a CoT server answers. Pure: no I/O.

An ``a-*`` event is a position report. About its sender itself (``uid`` is the
connection's own uid) it is a unit's self-report; about anything else it is a marker the
sender placed, a human spot report. The report's label is not decided here.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from tessera.codecs.cot_model import CotError, CotEvent, as_utc, cot_time
from tessera.codecs.cot_relations import parent_uid
from tessera.codecs.cot_safe_xml import parse_fragment
from tessera.core.cot_types import (
    AFFILIATION_IDENTITY,
    generic_type,
    parse_atom,
    sidc_of_symbol_code,
    sidc_of_type,
    type_of_sidc,
)
from tessera.core.grid_refs import mgrs_ref
from tessera.core.model import (
    ID_PATTERN,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
    bounded_hold,
)
from tessera.core.symbols import identity_of, sidc_problem, with_identity
from tessera.core.text import without_control_characters
from tessera.core.track_names import track_name

# A CoT event that gives no circular error (9999999, NaN, zero) is placed within this
# many metres, 1 sigma: a hand-placed marker or a phone's fix, rarely better.
DEFAULT_CE_M: Final = 50.0
# A position typed or picked on a map by hand ("how" h-*) without a stated error is far less
# certain than a machine fix ("how" m-*, e.g. m-g for GPS).
DEFAULT_HUMAN_CE_M: Final = 250.0
MAX_CE_M: Final = 1_000_000.0
MIN_ALT_M: Final = -12_000.0
MAX_ALT_M: Final = 1_000_000.0
MAX_SPEED_MS: Final = 10_000.0
_NOT_CURRENT: Final = frozenset({TrackStatus.STALE, TrackStatus.DEAD})
MAX_REMARKS_CHARS: Final = 4096

CHAT_TYPE: Final = "b-t-f"
PING_TYPE: Final = "t-x-c-t"
PONG_TYPE: Final = "t-x-c-t-r"
PROTOCOL_OFFER_TYPE: Final = "t-x-takp-v"
PROTOCOL_REQUEST_TYPE: Final = "t-x-takp-q"
PROTOCOL_RESPONSE_TYPE: Final = "t-x-takp-r"
TAK_PROTOCOL_VERSION: Final = 1
FUSED_HOW: Final = "m-f"

_IDENTIFIER: Final = re.compile(ID_PATTERN)
_NOT_IDENTIFIER_CHAR: Final = re.compile(r"[^A-Za-z0-9._:@-]")


def event_to_report(
    event: CotEvent,
    *,
    sender_uid: str,
    new_id: Callable[[], str],
    now: datetime,
    label: Label,
) -> Report | None:
    """The report an event makes, or None for an event that is not a position report
    (not ``a-*``, or at 0°, 0°: how TAK clients say they have no fix)."""
    if not is_position_report(event, now):
        return None
    subject = safe_identifier(event.uid)
    if event.uid == sender_uid:
        source = Source(id=subject, kind=SourceKind.UNIT)
    else:
        source = Source(id=safe_identifier(sender_uid), kind=SourceKind.HUMAN)
    identity, sidc = symbol_of_event(event)
    # A clock running ahead never dates a report in the future.
    observed_at = min(as_utc(event.time), as_utc(now))
    return Report(
        id=new_id(),
        source=source,
        observed_at=observed_at,
        # What the sender says holds until the event goes stale (after ``now``: checked).
        valid_until=bounded_hold(observed_at, as_utc(event.stale)),
        position=Position(
            lat=event.lat,
            lon=event.lon,
            alt=_altitude(event.hae),
            ce=_circular_error(event.ce, event.how),
        ),
        velocity=_velocity(event.course, event.speed),
        subject=subject,
        identity=identity,
        sidc=sidc,
        label=label,
        remarks=_report_remarks(event),
        parent=None if (parent := parent_uid(event)) is None else safe_identifier(parent),
    )


def retraction_report(
    uid: str,
    *,
    last: CotEvent | None,
    sender_uid: str,
    new_id: Callable[[], str],
    now: datetime,
    label: Label,
) -> Report:
    """The report that withdraws what was said of ``uid`` (a client deleted the marker it
    placed): fusion drops the track its reports made. ``last``: the marker as it was last
    shared, if known, which gives where it was; else 0°, 0° (nothing reads it)."""
    subject = safe_identifier(uid)
    kind = SourceKind.UNIT if sender_uid == uid else SourceKind.HUMAN
    where = Position(lat=0.0, lon=0.0) if last is None else Position(lat=last.lat, lon=last.lon)
    return Report(
        id=new_id(),
        source=Source(id=safe_identifier(sender_uid), kind=kind),
        observed_at=as_utc(now),
        position=where,
        subject=subject,
        label=label,
        retraction=True,
    )


def is_position_report(event: CotEvent, now: datetime | None = None) -> bool:
    """An ``a-*`` event with a fix, not already stale at ``now`` (a stale event is news
    about a past that its sender says no longer holds)."""
    if not event.type.startswith("a-") or (event.lat == 0.0 and event.lon == 0.0):
        return False
    if now is not None and as_utc(event.stale) <= as_utc(now):
        return False
    try:
        parse_atom(event.type)
    except ValueError:
        return False
    return True


def symbol_of_event(event: CotEvent) -> tuple[Identity, str]:
    """Identity and SIDC of an atom event: the symbol from ``__milsym`` when it is
    readable, else from the type; the type's affiliation wins when it has one."""
    atom = parse_atom(event.type)
    match = sidc_of_symbol_code(event.sidc) if event.sidc else None
    sidc = (match or sidc_of_type(event.type)).sidc
    identity = AFFILIATION_IDENTITY.get(atom.affiliation, identity_of(sidc))
    return identity, with_identity(sidc, identity)


def safe_identifier(uid: str) -> str:
    """A CoT uid as a Tessera identifier: unchanged when it is one, else its allowed
    characters and a digest of the whole (so different uids stay different)."""
    if _IDENTIFIER.fullmatch(uid):
        return uid
    cleaned = _NOT_IDENTIFIER_CHAR.sub("_", uid).lstrip("._:@-")[:100]
    digest = hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{cleaned}-{digest}" if cleaned else f"cot-{digest}"


def track_to_event(
    track: Track,
    *,
    picture: str,
    now: datetime,
    stale_after: timedelta,
    own_callsign: str | None = None,
) -> CotEvent:
    """A fused track as a CoT event for TAK clients; a dead track is stale at once, so
    clients drop it, and a held one (``valid_until``) no sooner than its hold ends (never
    sooner than ``stale_after`` either), so a client keeps it as long as the picture does.
    Its callsign is readable (``tessera.core.track_names``): for a unit's own track
    ``own_callsign``, the one its own reports carry, when it is known. A unit's formation
    goes as a ``link relation="p-p"`` to the formation's uid (its subject)."""
    time = cot_time(now)
    # The track's fused identity wins over the identity digit of whatever SIDC it carries.
    sidc = with_identity(track.sidc, track.identity) if sidc_problem(track.sidc) is None else None
    cot_type = generic_type(track.identity) if sidc is None else type_of_sidc(sidc).cot_type
    velocity = track.velocity
    return CotEvent(
        uid=f"tessera-{picture}-{track.id}",
        type=cot_type,
        how=FUSED_HOW,
        time=time,
        start=time,
        # A stale or dead track no longer says where its object is now.
        stale=time if track.status in _NOT_CURRENT else _stale(track, now, stale_after),
        lat=track.position.lat,
        lon=track.position.lon,
        hae=track.position.alt,
        ce=track.position.ce,
        callsign=track_name(track, own_callsign),
        course=None if velocity is None else velocity.course,
        speed=None if velocity is None else velocity.speed,
        remarks=_track_remarks(track),
        sidc=sidc,
        # Its formation, as a unit's own event names it (``cot_relations``).
        link_uid=track.parent,
    )


def _stale(track: Track, now: datetime, stale_after: timedelta) -> datetime:
    usual = now + stale_after
    return cot_time(usual if track.valid_until is None else max(usual, track.valid_until))


def pong(
    ping: CotEvent, now: datetime, *, stale_after: timedelta = timedelta(seconds=20)
) -> CotEvent:
    """The answer to a ``t-x-c-t`` ping (TAK Server's ``takPong``, whoever pinged)."""
    if not is_ping(ping):
        raise ValueError(f"not a ping: {ping.type!r}")
    return _control_event("takPong", PONG_TYPE, now, stale_after, how="h-g-i-g-o")


def negotiation_offer(
    *, now: datetime, uid: str = "protouid", stale_after: timedelta = timedelta(minutes=1)
) -> CotEvent:
    """The server's TAK protocol offer (``t-x-takp-v``), listing version 1."""
    support = f'<TakProtocolSupport version="{TAK_PROTOCOL_VERSION}"/>'
    return _control_event(uid, PROTOCOL_OFFER_TYPE, now, stale_after, detail=support)


def negotiation_response(
    request: CotEvent | None = None,
    *,
    accepted: bool,
    now: datetime,
    stale_after: timedelta = timedelta(minutes=1),
) -> CotEvent:
    """The answer (``t-x-takp-r``) to a client's ``t-x-takp-q``, reusing the request's
    uid (which is the offer's: ``protouid`` without a request at hand)."""
    response = f'<TakResponse status="{"true" if accepted else "false"}"/>'
    uid = "protouid" if request is None else request.uid
    return _control_event(uid, PROTOCOL_RESPONSE_TYPE, now, stale_after, detail=response)


def requested_protocol_version(event: CotEvent) -> int | None:
    """The version a ``t-x-takp-q`` asks for; None when it is not a readable request."""
    if not is_negotiation_request(event) or not event.detail_xml:
        return None
    try:
        elements = parse_fragment(
            event.detail_xml, max_bytes=len(event.detail_xml) * 4, max_depth=8, where="detail"
        )
    except CotError:
        return None
    for element in elements:
        request = element.find("TakRequest") if element.tag == "TakControl" else None
        version = None if request is None else request.get("version")
        if version is not None and version.isascii() and version.isdigit():
            return int(version)
    return None


def is_chat(event: CotEvent) -> bool:
    return event.type == CHAT_TYPE


def is_ping(event: CotEvent) -> bool:
    return event.type == PING_TYPE


def is_negotiation_request(event: CotEvent) -> bool:
    return event.type == PROTOCOL_REQUEST_TYPE


def _control_event(
    uid: str,
    cot_type: str,
    now: datetime,
    stale_after: timedelta,
    *,
    how: str = "m-g",
    detail: str | None = None,
) -> CotEvent:
    time = cot_time(now)
    return CotEvent(
        uid=uid,
        type=cot_type,
        how=how,
        time=time,
        start=time,
        stale=cot_time(now + stale_after),
        lat=0.0,
        lon=0.0,
        hae=0.0,
        detail_xml="" if detail is None else f"<TakControl>{detail}</TakControl>",
    )


def _altitude(hae: float | None) -> float | None:
    return hae if hae is not None and MIN_ALT_M <= hae <= MAX_ALT_M else None


def _circular_error(ce: float | None, how: str) -> float:
    if ce is not None and 0.0 < ce <= MAX_CE_M:
        return ce
    return DEFAULT_HUMAN_CE_M if how.startswith("h") else DEFAULT_CE_M


def _velocity(course: float | None, speed: float | None) -> Velocity | None:
    # iTAK sends speed -1 for "unknown"; some senders a negative course: normalise it.
    if course is None or speed is None or not (math.isfinite(course) and math.isfinite(speed)):
        return None
    if not 0.0 <= speed <= MAX_SPEED_MS:
        return None
    # (A tiny negative course modulo 360 rounds to 360.0 itself; the second % folds it.)
    return Velocity(course=course % 360.0 % 360.0, speed=speed)


def _report_remarks(event: CotEvent) -> str:
    """Callsign, team (``__group`` name and role) and the sender's remarks."""
    team = ", ".join(part for part in (event.group_name, event.group_role) if part)
    who = f"{event.callsign} ({team})" if event.callsign and team else event.callsign or team
    text = ": ".join(part for part in (who, event.remarks) if part)
    # CoT text may hold DEL (XML allows it); a report's remarks hold no control character.
    return without_control_characters(text)[:MAX_REMARKS_CHARS]


def _track_remarks(track: Track) -> str:
    reports = "1 report" if track.report_count == 1 else f"{track.report_count} reports"
    grid = mgrs_ref(track.position.lat, track.position.lon)
    where = "" if grid is None else f" at MGRS {grid}"
    return (
        f"Tessera {track.status.value} track {track.id}{where}: {track.identity.value}"
        f" ({track.identity_confidence:.0%}), graded {track.grading.code}, {reports}"
    )
