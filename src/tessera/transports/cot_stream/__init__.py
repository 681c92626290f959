"""Cursor-on-Target streams for TAK clients: TLS with client certificates, plain TCP and UDP
for trusted networks (DESIGN §7, §8)."""
