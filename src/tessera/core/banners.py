"""Classification banners: the text and the conventional colours of a picture's highest level.

Colours after the US marking convention (DoDM 5200.01 Vol. 2 and the CAPCO register):
unclassified green, confidential blue, secret red, top secret orange. NATO RESTRICTED has
no colour of its own there; it takes the one between unclassified and confidential
(controlled unclassified, purple). Deployments with other levels set ``banner_colours``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from tessera.core.labels import ClassificationScheme, Picture

# level: (background, text)
DEFAULT_BANNER_COLOURS: Final[Mapping[str, tuple[str, str]]] = {
    "UNCLASSIFIED": ("#007a33", "#ffffff"),
    "RESTRICTED": ("#502b85", "#ffffff"),
    "CONFIDENTIAL": ("#0033a0", "#ffffff"),
    "SECRET": ("#c8102e", "#ffffff"),
    "TOP SECRET": ("#ff8c00", "#000000"),
}
UNKNOWN_LEVEL_COLOURS: Final = ("#444444", "#ffffff")


class Banner(msgspec.Struct, frozen=True):
    text: str
    colour: str
    text_colour: str


def picture_level(picture: Picture, scheme: ClassificationScheme) -> str:
    """The highest level a picture may hold."""
    return picture.rule.max_classification or scheme.levels[-1]


def banner(
    picture: Picture,
    scheme: ClassificationScheme,
    colours: Mapping[str, tuple[str, str]] = DEFAULT_BANNER_COLOURS,
) -> Banner:
    level = picture_level(picture, scheme)
    text = level
    if picture.rule.releasable_to is not None:
        text = f"{level} // REL TO {picture.rule.releasable_to}"
    background, foreground = colours.get(level, UNKNOWN_LEVEL_COLOURS)
    return Banner(text=text, colour=background, text_colour=foreground)
