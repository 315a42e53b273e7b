"""The read side that composes the others: *Mine familier*, the family search and the family page."""
