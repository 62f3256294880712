"""Benchmarks, run by `make bench`; they print figures, they assert nothing."""
