"""Reporting a group, and the site's moderators' queue of reported groups."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("group_moderation", __name__)
