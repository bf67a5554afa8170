"""Benchmarks that prove duebot's speed and memory targets (run with `make bench`)."""
