"""Batch mode: fuse a file of reports into a file of picture snapshots."""
