"""Moderating groups: reports on groups, hiding and restoring them (issue 20)."""

from __future__ import annotations
