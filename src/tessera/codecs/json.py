"""The canonical JSON form of a report (DESIGN §2).

Strict: unknown fields, out-of-range or non-finite numbers, malformed codes, times without
a zone or too far in the future are all errors naming the field and the reason. A batch is
all or nothing: one bad item rejects it, and every bad item is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from tessera.codecs.errors import (
    JSON_DECODE_ERRORS,
    BatchTooLargeError,
    DecodeError,
    FieldError,
    json_field_error,
)
from tessera.core.labels import ClassificationScheme
from tessera.core.model import (
    MAX_HOLD,
    UNGRADED,
    Grading,
    Identifier,
    Identity,
    Label,
    Name,
    Position,
    Quantity,
    Remarks,
    Report,
    Sidc,
    Source,
    SourceKind,
    Timestamp,
    TrackStatus,
    Velocity,
)
from tessera.core.symbols import identity_of, sidc_problem


class ReportDoc(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A report as a client sends it: ``id`` and ``label`` may be left out."""

    id: Identifier | None = None
    source: Source
    observed_at: Timestamp
    received_at: Timestamp | None = None
    valid_until: Timestamp | None = None
    position: Position
    velocity: Velocity | None = None
    subject: Identifier | None = None
    identity: Identity | None = None
    sidc: Sidc | None = None
    quantity: Quantity | None = None
    grading: Grading | None = None
    label: Label | None = None
    remarks: Remarks = ""
    retraction: bool = False
    name: Name | None = None
    status: TrackStatus | None = None
    parent: Identifier | None = None


_LABEL_REQUIRED: Final = (
    "is required: give one, or set a default label for the source or the sender"
)


class ReportPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What the codec accepts beyond the shape of a report."""

    levels: tuple[str, ...]
    # A report without a label takes its source's default, else the sender's, else this;
    # with none of them it is refused: a report's label is never guessed.
    default_label: Label | None = None
    source_labels: dict[str, Label] = msgspec.field(default_factory=dict)
    max_future_skew: timedelta = timedelta(minutes=5)
    max_items: int = 10_000


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Grading:
        if not isinstance(obj, str):
            raise TypeError(
                f"Expected an Admiralty code string like 'B2', got {type(obj).__name__}"
            )
        return Grading.parse(obj)
    raise NotImplementedError(f"no decoder for {type_!r}")


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Grading):
        return obj.code
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


class ReportCodec:
    """Decodes untrusted report batches and encodes reports canonically."""

    def __init__(self, policy: ReportPolicy) -> None:
        self.policy = policy
        self._scheme = ClassificationScheme(policy.levels)
        self._batch = msgspec.json.Decoder(list[ReportDoc], dec_hook=_dec_hook)
        self._raw_items = msgspec.json.Decoder(list[msgspec.Raw])
        self._item = msgspec.json.Decoder(ReportDoc, dec_hook=_dec_hook)

    def decode_batch(
        self,
        data: bytes,
        *,
        now: datetime,
        new_id: Callable[[], str],
        default_label: Label | None = None,
    ) -> list[Report]:
        """Decode a JSON array of reports, all or nothing; raise DecodeError listing every
        bad item."""
        try:
            docs = self._batch.decode(data)
        except JSON_DECODE_ERRORS:
            docs = self._decode_items_one_by_one(data)
        if not docs:
            raise DecodeError([FieldError(None, "$", "the batch is empty")])
        if len(docs) > self.policy.max_items:
            raise BatchTooLargeError(
                [FieldError(None, "$", f"more than {self.policy.max_items} reports in one batch")]
            )
        return self._finish(enumerate(docs), now=now, new_id=new_id, default_label=default_label)

    def decode_line(
        self,
        data: bytes | str,
        *,
        index: int,
        now: datetime | None,
        new_id: Callable[[], str],
        default_label: Label | None = None,
    ) -> Report:
        """Decode one report (one line of a JSON Lines file). ``now=None`` skips the check
        against the future, for files of past reports."""
        try:
            doc = self._item.decode(data)
        except JSON_DECODE_ERRORS as exc:
            raise DecodeError([json_field_error(exc, data, index)]) from None
        return self._finish([(index, doc)], now=now, new_id=new_id, default_label=default_label)[0]

    def _decode_items_one_by_one(self, data: bytes) -> list[ReportDoc]:
        try:
            raws = self._raw_items.decode(data)
        except JSON_DECODE_ERRORS as exc:
            problem = json_field_error(exc, data)
            if "Expected `array`" in problem.reason:
                problem = FieldError(None, "$", "expected a JSON array of reports")
            raise DecodeError([problem]) from None
        errors: list[FieldError] = []
        docs: list[ReportDoc] = []
        for index, raw in enumerate(raws):
            try:
                docs.append(self._item.decode(raw))
            except JSON_DECODE_ERRORS as exc:
                errors.append(json_field_error(exc, raw, index))
        raise DecodeError(errors or [FieldError(None, "$", "invalid batch")])

    def _finish(
        self,
        docs: Iterable[tuple[int, ReportDoc]],
        *,
        now: datetime | None,
        new_id: Callable[[], str],
        default_label: Label | None,
    ) -> list[Report]:
        errors: list[FieldError] = []
        reports: list[Report] = []
        horizon = None if now is None else now + self.policy.max_future_skew
        for index, doc in docs:
            problems = self._semantic_problems(doc, horizon)
            label = self._label(doc, default_label)
            if label is None:
                problems.append(("label", _LABEL_REQUIRED))
            elif label.classification not in self._scheme:
                levels = ", ".join(self._scheme.levels)
                problems.append(("label.classification", f"must be one of {levels}"))
            if problems or label is None:
                errors.extend(FieldError(index, field, reason) for field, reason in problems)
                continue
            reports.append(self._to_report(doc, label, new_id))
        if errors:
            raise DecodeError(errors)
        return reports

    def _semantic_problems(self, doc: ReportDoc, horizon: datetime | None) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if horizon is not None and doc.observed_at > horizon:
            skew = int(self.policy.max_future_skew.total_seconds())
            problems.append(("observed_at", f"is in the future beyond the allowed {skew} s skew"))
        if doc.retraction and doc.subject is None:
            problems.append(("retraction", "withdraws what was said of a subject: name it"))
        if doc.valid_until is not None:
            if doc.valid_until <= doc.observed_at:
                problems.append(("valid_until", "must be after observed_at"))
            elif doc.valid_until - doc.observed_at > MAX_HOLD:
                days = MAX_HOLD.days
                problems.append(("valid_until", f"must be at most {days} days after observed_at"))
        own = doc.subject is not None and doc.source.kind is SourceKind.UNIT
        if doc.status is not None and doc.valid_until is None and not own:
            problems.append(
                (
                    "status",
                    "only a declaration states one: give valid_until, or report a unit's own",
                )
            )
        if doc.sidc is not None:
            problem = sidc_problem(doc.sidc)
            if problem:
                problems.append(("sidc", problem))
            elif doc.identity is not None and identity_of(doc.sidc) != doc.identity:
                problems.append(
                    ("identity", "disagrees with the standard identity digit of the SIDC")
                )
        return problems

    def _label(self, doc: ReportDoc, sender_default: Label | None) -> Label | None:
        if doc.label is not None:
            return doc.label
        return (
            self.policy.source_labels.get(doc.source.id)
            or sender_default
            or self.policy.default_label
        )

    def _to_report(self, doc: ReportDoc, label: Label, new_id: Callable[[], str]) -> Report:
        identity = doc.identity
        if identity is None:
            identity = identity_of(doc.sidc) if doc.sidc is not None else Identity.UNKNOWN
        if len(set(label.releasable_to)) != len(label.releasable_to) or list(
            label.releasable_to
        ) != sorted(label.releasable_to):
            label = Label(label.classification, tuple(sorted(set(label.releasable_to))))
        return Report(
            id=doc.id or new_id(),
            source=doc.source,
            observed_at=doc.observed_at.astimezone(UTC),
            received_at=None if doc.received_at is None else doc.received_at.astimezone(UTC),
            valid_until=None if doc.valid_until is None else doc.valid_until.astimezone(UTC),
            position=doc.position,
            velocity=doc.velocity,
            subject=doc.subject,
            identity=identity,
            sidc=doc.sidc,
            quantity=doc.quantity,
            grading=doc.grading or UNGRADED,
            label=label,
            remarks=doc.remarks,
            retraction=doc.retraction,
            name=doc.name,
            status=doc.status,
            parent=doc.parent,
        )


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
_report_decoder = msgspec.json.Decoder(Report, dec_hook=_dec_hook)


def encode_report(report: Report) -> bytes:
    return _encoder.encode(report)


def encode(obj: object) -> bytes:
    """Encode any model object (or plain data holding them) as JSON."""
    return _encoder.encode(obj)


def decode_stored_report(data: bytes) -> Report:
    """Decode a report that Tessera itself encoded (from the journal)."""
    return _report_decoder.decode(data)


def decode_hook(type_: type, obj: Any) -> Any:
    """What msgspec's decoders are told of the model's types it does not know (a
    Grading from its code), for decoders of model objects built elsewhere."""
    return _dec_hook(type_, obj)


def to_builtins(obj: object) -> Any:
    return msgspec.to_builtins(obj, enc_hook=_enc_hook)
