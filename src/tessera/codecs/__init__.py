"""Bytes to and from the model. Pure: no I/O, no globals."""
