"""Provinces, agencies, survey rounds and the respondent groups of a round."""
