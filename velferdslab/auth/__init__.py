"""Labs, agencies, users, roles, sign-in, sessions and API tokens."""
