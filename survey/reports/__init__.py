"""Analysts' pages, downloads and CLI over the pure analysis library."""
