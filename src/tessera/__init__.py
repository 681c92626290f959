"""Tessera: a live, fused common operational picture per audience."""

__version__ = "0.1.0"
