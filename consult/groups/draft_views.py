"""A group's shared drafts, submitting them on its behalf, co-signing and adopting submissions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("group_drafts", __name__)
