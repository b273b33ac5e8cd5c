"""The JSON API under /api/v1/: read for everyone (within what they may see)."""
