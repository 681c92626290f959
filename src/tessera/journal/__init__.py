"""Tessera journal."""
