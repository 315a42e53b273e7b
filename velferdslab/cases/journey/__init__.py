"""The journey: which themes apply to a family, its assessments (with their versions) and their history."""
