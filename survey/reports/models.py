"""Models of the reports area (issue 5), if any."""
