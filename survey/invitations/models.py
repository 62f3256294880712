"""Models of the invitations area (issue 4)."""
