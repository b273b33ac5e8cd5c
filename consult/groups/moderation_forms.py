"""moderation_forms (issue 20)."""

from __future__ import annotations
