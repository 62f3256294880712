"""Benchmark placeholder: filled in by the issue that owns it."""


def main() -> None:
    print("bench/mail.py: not written yet")
