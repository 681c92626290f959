"""Tessera transports."""
