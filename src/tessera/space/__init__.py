"""Satellite element sets kept current: read from files, refreshed from URLs."""
