"""API access tokens: a person's, or an organisation's (made by one of its admins)."""
