"""Calls to action: published by an organisation or a group coordinator, with a goal and a deadline.

(Issue 20, being built: the group page's panel is filled in by this module.)
"""

from __future__ import annotations

from typing import Any

from consult.accounts.models import User
from consult.groups.models import Group


def group_panel(group: Group, viewer: User | None) -> dict[str, Any]:
    """What the group page shows of the group's calls to action (``groups/_calls_panel.html``)."""
    return {}
