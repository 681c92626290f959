"""Tessera bus."""
