"""Consent to share between agencies: given, renewed and withdrawn, never edited."""
