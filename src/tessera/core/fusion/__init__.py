"""Fusion: reports in, tracks out. Pure and deterministic."""
