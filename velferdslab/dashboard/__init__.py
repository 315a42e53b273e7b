"""The start page: what each role needs first when it signs in."""
