"""Tessera against the peer servers: installs, servers, loads, the report."""
