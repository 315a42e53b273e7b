"""The household: a family (or a single young person) and its members."""
