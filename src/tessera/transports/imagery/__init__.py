"""Imagery sources: STAC APIs and static catalogues searched for imagery over areas of
interest, their items journaled as imagery footprint overlays (``tessera.codecs.stac``)."""
