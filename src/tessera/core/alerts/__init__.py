"""Alert rules and their evaluation over a picture's changes: pure (no I/O, no clock)."""
