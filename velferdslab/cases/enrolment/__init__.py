"""Enrolment: a family's stays in the lab (referred → active → closed), registration and re-referral."""
