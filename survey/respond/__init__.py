"""The respondent's journey: personal link, drafts, exactly-once submission."""
