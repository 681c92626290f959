"""Basemaps an operator brings: tile archives (PMTiles, MBTiles) read offline."""
