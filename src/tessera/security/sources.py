"""The source registry: which principal may report as which source ids (DESIGN §10).

A grant names a source id exactly (``uav-17``) or by a prefix (``uav-*``; ``*`` alone is
every source). A principal may report as a source it holds a grant for, and name as a
report's ``subject`` only an id it holds one for if it wants that report to move the
subject's own track (otherwise the subject is kept within its own reports: see
``scoping.py``). Grants come from the settings file and from the security store
(``tessera sources``): a principal's are read for each request (one indexed lookup, as
its token is), so a change made by the command holds from the next request; everyone's,
which only TAK markers are checked against, are kept for ``ttl_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from tessera.security.base import SecurityStore, SourceGrant

EVERY_SOURCE: Final = "*"
DEFAULT_TTL_S: Final = 2.0


class Ownership:
    """The source ids one principal may report as, compiled from its grants."""

    __slots__ = ("_everything", "_exact", "_prefixes", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(sorted(set(patterns)))
        self._everything = EVERY_SOURCE in self.patterns
        self._exact = frozenset(p for p in self.patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in self.patterns if p.endswith("*") and p != "*")

    def owns(self, source_id: str) -> bool:
        if self._everything or source_id in self._exact:
            return True
        return any(source_id.startswith(prefix) for prefix in self._prefixes)

    def names(self, source_id: str) -> bool:
        """Whether a grant names ``source_id`` itself (exactly or by its prefix), rather
        than only ``*``, which lets a principal report as anything but claims nothing."""
        if source_id in self._exact:
            return True
        return any(source_id.startswith(prefix) for prefix in self._prefixes)

    def with_id(self, source_id: str | None) -> Ownership:
        """This ownership and one more exact id (a TAK client's own uid)."""
        if source_id is None or self.owns(source_id):
            return self
        return Ownership((*self.patterns, source_id))


class SourceRegistry:
    """Each principal's ownership: the settings' grants and the store's, cached briefly."""

    def __init__(
        self,
        store: SecurityStore,
        configured: Sequence[SourceGrant] = (),
        *,
        ttl_s: float = DEFAULT_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._configured: dict[str, list[str]] = {}
        for grant in configured:
            self._configured.setdefault(grant.principal, []).append(grant.pattern)
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._everyone: tuple[float, dict[str, Ownership]] | None = None

    async def ownership(self, principal: str) -> Ownership:
        stored = [grant.pattern for grant in await self._store.source_grants(principal)]
        return Ownership([*self._configured.get(principal, ()), *stored])

    async def owners(self) -> dict[str, Ownership]:
        """Every principal's ownership (those holding any grant)."""
        now = self._monotonic()
        if self._everyone is not None and now - self._everyone[0] < self._ttl_s:
            return self._everyone[1]
        patterns: dict[str, list[str]] = {name: list(p) for name, p in self._configured.items()}
        for grant in await self._store.source_grants():
            patterns.setdefault(grant.principal, []).append(grant.pattern)
        everyone = {name: Ownership(found) for name, found in patterns.items()}
        self._everyone = (now, everyone)
        return everyone

    def forget(self) -> None:
        """Read everyone's grants again at the next question (after a change made here)."""
        self._everyone = None
