"""Invitations, reminders, the e-mail outbox and its worker, response monitoring."""
