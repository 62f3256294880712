"""Benchmark placeholder: filled in by the issue that owns it."""


def main() -> None:
    print("bench/analysis.py: not written yet")
