"""What `tessera demo` sets up: two audiences in two communities, and who reads them.

A NATO staff officer reads the NATO picture (up to SECRET, releasable to NATO); a partner
liaison officer reads the partner's picture (up to CONFIDENTIAL, releasable to UKR). The
exercise feed reports as a system principal cleared for everything the scenario labels.
Each run issues fresh tokens (valid a day) and prints a sign-in link for each person.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import msgspec

from tessera.core.labels import AdmissionRule, Picture
from tessera.core.model import Principal, PrincipalKind, Role
from tessera.security import tokens
from tessera.security.base import AuditEvent, SecurityStore, SourceGrant
from tessera.sim.scenario import EXERCISE_SOURCES

TOKEN_LIFETIME: Final = timedelta(days=1)
FEED: Final = "exercise-feed"

DEMO_PICTURES: Final = (
    Picture(
        name="NATO-SECRET",
        rule=AdmissionRule(max_classification="SECRET", releasable_to="NATO"),
        description="Everything releasable to NATO, up to SECRET",
        reader_communities=("NATO",),
    ),
    Picture(
        name="REL-UKR",
        rule=AdmissionRule(max_classification="CONFIDENTIAL", releasable_to="UKR"),
        description="What may be released to Ukraine, up to CONFIDENTIAL",
        reader_communities=("UKR",),
    ),
)

DEMO_PRINCIPALS: Final = (
    Principal(
        name="nato-officer",
        communities=("NATO",),
        clearance="SECRET",
        roles=(Role.VIEWER, Role.REPORTER, Role.OPERATOR),
    ),
    Principal(
        name="ukr-liaison",
        communities=("UKR",),
        clearance="CONFIDENTIAL",
        roles=(Role.VIEWER, Role.REPORTER),
    ),
    Principal(
        name=FEED,
        kind=PrincipalKind.SYSTEM,
        communities=("EU", "NATO", "POL", "UKR"),
        clearance="SECRET",
        roles=(Role.REPORTER,),
    ),
)


async def demo_tokens(store: SecurityStore, now: datetime) -> dict[str, str]:
    """Create the demo principals that are missing and issue each a fresh token."""
    issued: dict[str, str] = {}
    events: list[AuditEvent] = []
    for principal in DEMO_PRINCIPALS:
        if await store.principal(principal.name) is None:
            await store.add_principal(msgspec.structs.replace(principal, created_at=now))
            events.append(
                AuditEvent(at=now, principal="demo", action="principal.add", target=principal.name)
            )
        token = tokens.issue(principal.name, now=now, expires_at=now + TOKEN_LIFETIME)
        await store.add_token(token.record)
        events.append(
            AuditEvent(at=now, principal="demo", action="token.issue", target=token.record.id)
        )
        issued[principal.name] = token.token
    # The feed reports as the exercise's units, drones, satellite, patrols and open sources.
    granted = [
        pattern
        for pattern in EXERCISE_SOURCES
        if await store.add_source_grant(
            SourceGrant(principal=FEED, pattern=pattern, granted_at=now)
        )
    ]
    if granted:
        events.append(
            AuditEvent(
                at=now,
                principal="demo",
                action="source.grant",
                target=FEED,
                detail={"patterns": granted},
            )
        )
    await store.append_audit(events)
    return issued
