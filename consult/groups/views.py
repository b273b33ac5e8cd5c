"""Group pages: the list, a group's page, starting and running a group, joining and leaving."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("groups", __name__)
