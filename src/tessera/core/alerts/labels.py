"""An alert's label: that of every track and area that raised it, joined (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label

# Releasable to nobody but unrestricted readers: what two labels releasable to disjoint
# communities join to (a community of this name must not be configured).
NO_RELEASE: Final = "NO-RELEASE"


def joined_label(labels: Sequence[Label], scheme: ClassificationScheme) -> Label:
    """The highest classification, releasable only where every caveated label is."""
    level = scheme.highest([label.classification for label in labels])
    caveated = [set(label.releasable_to) for label in labels if label.releasable_to]
    if not caveated:
        return Label(classification=level)
    common = set.intersection(*caveated)
    return Label(classification=level, releasable_to=tuple(sorted(common)) or (NO_RELEASE,))
