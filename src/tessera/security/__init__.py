"""Tessera security."""
