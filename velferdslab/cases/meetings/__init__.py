"""Meetings: who came, notes and decisions, and a meeting's work (assessment, actions) in one go."""
