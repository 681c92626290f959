"""Files exchanged with a running server over its API: `tessera export`."""
