"""Tessera transports/web."""
