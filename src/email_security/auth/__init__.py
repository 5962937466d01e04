"""API tokens, the accounts they belong to, and the access checks of every request."""
