"""The staff audit log: every operation of an author, admin or moderator, with actor, time and target."""
