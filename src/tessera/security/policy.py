"""Who may read, submit and do what (DESIGN §3). Pure: principals, labels and pictures in,
decisions out.

- A principal may **read a label** if the label's level is within its clearance and the
  label is releasable to one of its communities, or carries no releasability caveat, or
  the principal is ``unrestricted`` (the deployment's own staff).
- A principal may **read a picture** if the picture names it (or one of its communities,
  or ``"*"``) and the picture admits nothing it could not read: the picture's highest
  level is within its clearance, and a picture that requires releasability to a community
  is read only by members of that community. A picture without that requirement admits
  reports releasable to any community, so only unrestricted principals read it.
- A principal may **submit** a report only with a label it could itself read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tessera.core.labels import ANY_PRINCIPAL, ClassificationScheme, Picture
from tessera.core.model import Label, Principal, Role


def may_read_label(principal: Principal, label: Label, scheme: ClassificationScheme) -> bool:
    if principal.disabled:
        return False
    if scheme.rank(label.classification) > scheme.rank(principal.clearance):
        return False
    if principal.unrestricted or not label.releasable_to:
        return True
    return not set(label.releasable_to).isdisjoint(principal.communities)


def covers(principal: Principal, picture: Picture, scheme: ClassificationScheme) -> bool:
    """Whether everything ``picture`` can admit is readable by ``principal``."""
    rule = picture.rule
    highest = rule.max_classification or scheme.levels[-1]
    if scheme.rank(highest) > scheme.rank(principal.clearance):
        return False
    if rule.releasable_to is None:
        return principal.unrestricted
    return principal.unrestricted or rule.releasable_to in principal.communities


def named(principal: Principal, picture: Picture) -> bool:
    if ANY_PRINCIPAL in picture.readers or principal.name in picture.readers:
        return True
    return not set(picture.reader_communities).isdisjoint(principal.communities)


def may_read_picture(principal: Principal, picture: Picture, scheme: ClassificationScheme) -> bool:
    if principal.disabled or Role.VIEWER not in principal.roles:
        return False
    return named(principal, picture) and covers(principal, picture, scheme)


def readable_pictures(
    principal: Principal, pictures: Iterable[Picture], scheme: ClassificationScheme
) -> list[Picture]:
    """The pictures ``principal`` may read, in configured order."""
    return [picture for picture in pictures if may_read_picture(principal, picture, scheme)]


def submission_refusal(
    principal: Principal, label: Label, scheme: ClassificationScheme
) -> str | None:
    """Why ``principal`` may not submit a report with ``label``, or None if it may."""
    if scheme.rank(label.classification) > scheme.rank(principal.clearance):
        return f"labelled {label.classification}, above your clearance {principal.clearance}"
    if not may_read_label(principal, label, scheme):
        shown = ", ".join(label.releasable_to)
        return f"releasable only to {shown}, none of which you belong to"
    return None


def has_any_role(principal: Principal, roles: Sequence[Role]) -> bool:
    return not principal.disabled and not set(roles).isdisjoint(principal.roles)
