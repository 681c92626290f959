"""How the picture marks a TAK client's emergency (911, ring the bell): the report its
``b-a-o`` event makes has a subject with this prefix, and the cancel withdraws it."""

from __future__ import annotations

import hashlib
from typing import Final

from tessera.core.model import Track, shown_subject

EMERGENCY_SUBJECT_PREFIX: Final = "emergency."
_MAX_SUBJECT: Final = 128


def emergency_subject(uid: str) -> str:
    """The subject of the emergency a client raised with ``uid`` (an identifier already);
    a uid too long to carry the prefix is shortened with its hash, the same every time."""
    subject = EMERGENCY_SUBJECT_PREFIX + uid
    if len(subject) <= _MAX_SUBJECT:
        return subject
    digest = hashlib.sha256(uid.encode()).hexdigest()[:16]
    keep = _MAX_SUBJECT - len(EMERGENCY_SUBJECT_PREFIX) - len(digest) - 1
    return f"{EMERGENCY_SUBJECT_PREFIX}{uid[:keep]}-{digest}"


def is_emergency(track: Track) -> bool:
    return track.subject is not None and shown_subject(track.subject).startswith(
        EMERGENCY_SUBJECT_PREFIX
    )
