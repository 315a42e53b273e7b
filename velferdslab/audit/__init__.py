"""Audit trail: who did what and who saw what. Imports only ``core``; every domain calls it."""
