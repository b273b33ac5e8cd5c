"""Contributions: the one model for everything a participant says, and the one way to add one."""
