"""Benchmarks: run with `make bench`; figures go to BENCHMARKS.md."""
