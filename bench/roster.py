"""Benchmark placeholder: filled in by the issue that owns it."""


def main() -> None:
    print("bench/roster.py: not written yet")
