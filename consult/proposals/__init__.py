"""Consultations, their versions and sections, and diffs between versions."""
