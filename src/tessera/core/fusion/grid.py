"""A coarse spatial index: tracks bucketed by latitude/longitude cell.

Gating first asks the grid which tracks are near a report, so the fine test runs over a
handful of tracks instead of all of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Final

from tessera.core.fusion.geo import METRES_PER_DEGREE_LAT, metres_per_degree_lon

CELL_DEGREES: Final = 0.02

Cell = tuple[int, int]


def _cell(lat: float, lon: float) -> Cell:
    return math.floor(lat / CELL_DEGREES), math.floor(lon / CELL_DEGREES)


class Grid:
    __slots__ = ("_cells", "_where")

    def __init__(self) -> None:
        self._cells: dict[Cell, dict[str, None]] = {}
        self._where: dict[str, Cell] = {}

    def add(self, item: str, lat: float, lon: float) -> None:
        cell = _cell(lat, lon)
        self._where[item] = cell
        self._cells.setdefault(cell, {})[item] = None

    def move(self, item: str, lat: float, lon: float) -> None:
        cell = _cell(lat, lon)
        old = self._where.get(item)
        if old == cell:
            return
        if old is not None:
            self._discard(item, old)
        self._where[item] = cell
        self._cells.setdefault(cell, {})[item] = None

    def remove(self, item: str) -> None:
        cell = self._where.pop(item, None)
        if cell is not None:
            self._discard(item, cell)

    def _discard(self, item: str, cell: Cell) -> None:
        members = self._cells[cell]
        del members[item]
        if not members:
            del self._cells[cell]

    def near(self, lat: float, lon: float, radius_m: float) -> Iterator[str]:
        """Items in every cell that a circle of ``radius_m`` around the point touches."""
        row, col = _cell(lat, lon)
        rows = math.ceil(radius_m / (CELL_DEGREES * METRES_PER_DEGREE_LAT))
        cols = math.ceil(radius_m / (CELL_DEGREES * metres_per_degree_lon(min(abs(lat), 89.0))))
        cols = min(cols, math.ceil(180 / CELL_DEGREES))
        for r in range(row - rows, row + rows + 1):
            for c in range(col - cols, col + cols + 1):
                members = self._cells.get((r, c))
                if members:
                    yield from members
