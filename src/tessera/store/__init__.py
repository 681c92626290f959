"""Tessera store."""
