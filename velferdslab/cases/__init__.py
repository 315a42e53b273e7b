"""Families, members, enrolment, consent, journey assessments, plans and meetings."""
