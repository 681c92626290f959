"""OGC API - Features (Part 1: Core) at /ogc: every picture the caller reads, as collections."""
