"""Benchmarks: each prints a table (and can write JSON); targets are recorded in docs/benchmarks.md."""
