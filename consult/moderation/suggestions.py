"""Theme suggestions for moderators (``similarity.suggest_groups`` and ``near_duplicates``),
computed by a job once per change of the consultation's visible contributions and kept in
``instance/suggestions/`` (about 1 s at 5,000 contributions: too slow for every page view).

The cache is named by a fingerprint of the visible contributions (how many, the sum of their
ids, the latest written and edited, the consultation's creation), so a new, edited, hidden,
restored or blocked contribution makes the page queue a new computation (once) and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, select

from consult.contributions.models import Contribution
from consult.core import jobs
from consult.core.models import db
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation

#: Below this many contributions a moderator reads them all; suggestions would only be noise.
SUGGEST_FROM = 10
MAX_ITEMS = 5_000


def suggestions_dir(app: Flask) -> Path:
    return Path(app.config.get("SUGGESTIONS_DIR") or Path(app.instance_path) / "suggestions")


def _visible(c: Consultation):
    return (Contribution.consultation_id == c.id, visible_contributions(None))


def fingerprint(c: Consultation) -> str:
    row = db.session.execute(
        select(func.count(), func.sum(Contribution.id), func.max(Contribution.created_at), func.max(Contribution.edited_at)).where(
            *_visible(c)
        )
    ).one()
    return hashlib.sha256(repr((tuple(row), c.created_at)).encode()).hexdigest()[:32]


def _path(app: Flask, c: Consultation, fp: str) -> Path:
    return suggestions_dir(app) / f"{c.id}-{fp}.json"


def cached_suggestions(c: Consultation) -> tuple[dict | None, bool]:
    """The suggestions for the visible contributions as they are now (None when there are too few
    to be worth grouping), and whether they are still being computed (a job is then queued, once)."""
    app = current_app._get_current_object()
    fp = fingerprint(c)
    path = _path(app, c, fp)
    for attempt in range(2):
        try:
            data = json.loads(path.read_text())
            return (data if data["enough"] else None), False
        except FileNotFoundError:
            if attempt == 0:
                jobs.enqueue_quietly(compute_theme_suggestions, c.id, once=f"theme-suggestions:{c.id}:{fp}")
    return None, True


@jobs.job(retries=2, writes=False)
def compute_theme_suggestions(consultation_id: int) -> None:
    """The job: group the visible contributions and find near-duplicates; store the result under
    the fingerprint of what it was computed from, and remove older results."""
    from consult.moderation import similarity  # scikit-learn: loaded by the worker, not by every page

    app = current_app._get_current_object()
    c = db.session.get(Consultation, consultation_id)
    if c is None:
        return
    fp = fingerprint(c)
    path = _path(app, c, fp)
    if path.exists():
        return
    rows = db.session.execute(
        select(Contribution.id, Contribution.body).where(*_visible(c)).order_by(Contribution.id).limit(MAX_ITEMS)
    ).all()
    items = [(i, b) for i, b in rows if b]
    data: dict = {"groups": [], "duplicates": [], "enough": len(items) >= SUGGEST_FROM}
    if data["enough"]:
        data["groups"] = [{"ids": g.ids, "terms": g.terms, "size": g.size} for g in similarity.suggest_groups(items)]
        data["duplicates"] = similarity.near_duplicates(items)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}-{id(path)}")
    try:
        partial.write_text(json.dumps(data))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    for old in path.parent.glob(f"{c.id}-*.json"):
        if old != path:
            old.unlink(missing_ok=True)
