"""What a principal writes is its own: ids scoped to their submitter (DESIGN §10).

Partners share one journal but must not be able to collide with, learn of or erase each
other's items. So every id a client chooses (a report's id, an overlay's
``Idempotency-Key``, the ids an import derives from a file) is stored as a key derived from
(principal, id, label) with a deployment secret (keyed BLAKE2b, a MAC): the same request
again, or the same id again under the same label (a retry, even with its times made
afresh), reaches its own item and stores nothing; the id under another label is another
item, kept too, so that no partner's view depends on what another partner could not show
it; no one can compute, or recognise, another principal's keys. The key is the id every
reader sees (a track's lineage, ``GET /reports/{id}``), so it names a report without
naming who sent it.

Subjects: a report naming as its ``subject`` an id its sender owns (the source registry)
moves that subject's own track. Any other subject (a marker's uid, a ship someone else
tracks) is scoped the same way, as ``subject~<16 hex digits>``: the sender's reports about
it form a track of their own, which no other principal's reports can reach, and which
never stands in for the subject's real track.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Final

import msgspec

from tessera.core.model import Label, Report, SourceKind, scoped_subject
from tessera.core.overlays import OverlayRevision
from tessera.security.sources import Ownership

ID_KEY_NAME: Final = "ids"  # the name of the secret ids are scoped with
_KEY_HEX: Final = 32
_SUBJECT_HEX: Final = 16


class IdScope:
    """Keys from (principal, id), under the deployment's secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the id secret is too short")
        self._secret = secret
        # One keyed hash state per kind, copied for each key (cheaper than keying anew).
        self._keyed: dict[str, Any] = {}

    def _digest(self, kind: str, principal: str, *values: str) -> str:
        # BLAKE2b keyed with the secret is a MAC (RFC 7693).
        keyed = self._keyed.get(kind)
        if keyed is None:
            keyed = hashlib.blake2b(key=self._secret, digest_size=32, person=kind.encode()[:16])
            self._keyed[kind] = keyed
        mac = keyed.copy()
        mac.update("\0".join((principal, *values)).encode("utf-8", "surrogatepass"))
        return str(mac.hexdigest())

    def report_id(self, principal: str, client_id: str, label: Label) -> str:
        """The key of a report ``principal`` sent as ``client_id`` under ``label``."""
        return self._digest("report", principal, client_id, label_text(label))[:_KEY_HEX]

    def revision_id(self, principal: str, client_id: str) -> str:
        return self._digest("revision", principal, client_id)[:_KEY_HEX]

    def file_id(self, principal: str, file_id: str) -> str:
        """A short scope for an id a file gives (an NVG ``uri``), appended to it."""
        return self._digest("file", principal, file_id)[:12]

    def subject(self, principal: str, subject: str) -> str:
        return scoped_subject(subject, self._digest("subject", principal, subject)[:_SUBJECT_HEX])


@functools.lru_cache(maxsize=1024)
def label_text(label: Label) -> str:
    """A label as one string (for keys): its level and its communities, in order."""
    return "/".join((label.classification, *sorted(label.releasable_to)))


class Refusal(msgspec.Struct, frozen=True):
    """Why one report may not be sent by its sender: the field and the reason."""

    field: str
    reason: str


class Submitter:
    """One principal writing: what it may report as, and its items made its own."""

    __slots__ = ("ownership", "principal", "scope")

    def __init__(self, principal: str, ownership: Ownership, scope: IdScope) -> None:
        self.principal = principal
        self.ownership = ownership
        self.scope = scope

    def refusal(self, report: Report) -> Refusal | None:
        """Why the sender may not send ``report`` (as given by the client), or None."""
        source = report.source.id
        if not self.ownership.owns(source):
            return Refusal(
                "source.id",
                f"source {source!r} is not registered to you: an administrator grants "
                "sources (tessera sources add)",
            )
        subject = report.subject
        if (
            report.source.kind is SourceKind.UNIT
            and subject is not None
            and not self.ownership.owns(subject)
        ):
            # A unit's own report is authoritative for its identity: only its owner's.
            return Refusal(
                "subject",
                f"a unit reports itself: {subject!r} is not a source registered to you",
            )
        return None

    def own(self, report: Report) -> Report:
        """The report as the journal keeps it: its id scoped (to the sender and its label),
        and its subject too unless the sender owns it."""
        subject = report.subject
        if subject is not None and not self.ownership.owns(subject):
            subject = self.scope.subject(self.principal, subject)
        key = self.scope.report_id(self.principal, report.id, report.label)
        return msgspec.structs.replace(report, id=key, subject=subject)

    def own_revision(self, revision: OverlayRevision) -> OverlayRevision:
        return msgspec.structs.replace(
            revision, id=self.scope.revision_id(self.principal, revision.id)
        )
