"""Three nodes in a triangle, every pair linked both ways: every item reaches every node
once, none comes back to where it began, and a chain passes items on (origin and path
travel with each item)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tessera.core.model import Identity
from tessera.federation.intake import Intake
from tests.federation.support import journal_remarks, mesh, report, run, until

TRIANGLE = [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("a", "c"), ("c", "a")]


def test_in_a_triangle_each_item_is_held_once_on_each_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path, TRIANGLE) as m:
            markers = []
            for name, node in m.nodes.items():
                batch = [
                    report(name, n, subject=f"{name}-unit-{n % 3}", identity=Identity.HOSTILE)
                    for n in range(1, 11)
                ]
                markers += [item.remarks for item in batch]
                await node.tessera.journal.append(batch)

            def settled() -> bool:
                return all(
                    status.position >= node.tessera.journal.last_seq
                    for node in m.nodes.values()
                    for status in node.tessera.federation.links.values()
                )

            await until(settled, "every link to hold everything")
            for node in m.nodes.values():
                held = Counter(await journal_remarks(node.tessera))
                assert sorted(held) == sorted(markers), node.name
                assert set(held.values()) == {1}, node.name

    run(scenario())


def test_a_chain_passes_items_on_and_never_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mesh(tmp_path, [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")]) as m:
            a, c = m.nodes["a"], m.nodes["c"]
            await a.tessera.journal.append([report("a", n) for n in range(1, 6)])
            await until(
                lambda: c.tessera.journal.last_seq >= 5,
                "c to hold a's reports, through b",
            )
            await c.tessera.journal.append([report("c", n) for n in range(1, 4)])
            await until(lambda: a.tessera.journal.last_seq >= 8, "a to hold c's reports")

            def settled() -> bool:
                return all(
                    status.position >= node.tessera.journal.last_seq
                    for node in m.nodes.values()
                    for status in node.tessera.federation.links.values()
                    if status.link.peer is not None
                )

            await until(settled, "every link to hold everything")
            for node in m.nodes.values():
                held = Counter(await journal_remarks(node.tessera))
                assert len(held) == 8 and set(held.values()) == {1}, node.name

    run(scenario())


def test_an_item_that_has_been_here_is_refused_and_counted() -> None:
    from datetime import UTC, datetime, timedelta

    from tessera.codecs.federation import ReportItem
    from tessera.core.labels import AdmissionRule, ClassificationScheme
    from tessera.federation.config import FederationLink
    from tessera.security.scoping import IdScope

    link = FederationLink(name="b", release=AdmissionRule(), ceiling="SECRET")
    intake = Intake(link, "a", ClassificationScheme(), IdScope(b"s" * 32), timedelta(minutes=5))
    mine = report("a", 1)
    items = [
        ReportItem(mine.id, "a", ("a", "b"), mine),  # began here
        ReportItem("x-1", "x", ("x", "a", "b"), report("x", 1)),  # passed through here
        ReportItem("b-1", "b", ("b",), report("b", 1)),  # new
    ]
    taken = intake.take(items, datetime.now(UTC) + timedelta(seconds=1))
    assert taken.loops == 2 and len(taken.items) == 1
