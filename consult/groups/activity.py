"""What a group's members did in each consultation, and a parent group's chapters side by side.

(Issue 20, being built: the group page's panel is filled in by this module.)
"""

from __future__ import annotations

from typing import Any

from consult.accounts.models import User
from consult.groups.models import Group


def group_panel(group: Group, viewer: User | None) -> dict[str, Any]:
    """What the group page shows of its members' activity and its chapters (``groups/_activity_panel.html``)."""
    return {}
