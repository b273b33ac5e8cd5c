"""Calls to action: their pages, publishing and closing them, pledging to come, the .ics file."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calls", __name__)
