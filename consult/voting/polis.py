"""Import a Pol.is open-data export (comments.csv, and votes.csv or participants-votes.csv) as
statements and votes of a consultation; participant ids are kept as external ids, so the
opinion map can be compared with Pol.is's own groups."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from consult.accounts.models import User
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core import text
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.proposals.models import Consultation
from consult.voting.models import Vote

VALUES = {"1": "agree", "-1": "disagree", "0": "pass"}  # Pol.is's exports: 1 agree, -1 disagree


@dataclass(frozen=True)
class Imported:
    participants: int
    statements: int
    votes: int


def external_id(consultation: Consultation, participant: str) -> str:
    return f"{consultation.slug}/{participant}"


def participant_of(external: str) -> str:
    """The Pol.is participant id in an external id made by ``external_id``."""
    return external.rsplit("/", 1)[-1]


def _when(raw: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return utcnow()


def import_polis(folder: Path, consultation: Consultation) -> Imported:
    """Read the export in ``folder`` into ``consultation`` (which needs a published version).
    Moderated-out comments become hidden statements, so they count nowhere; meta comments
    (``is-meta``) stay visible but are left out of the opinion map. An export without a single
    vote on one of its statements is refused, importing nothing. Run once."""
    version = consultation.current_version
    if version is None:
        raise RuleViolation(
            "Publish the consultation's text before importing statements into it."
        )  # i18n: not shown (the import-polis command, for operators)
    comments_file = folder / "comments.csv"
    if not comments_file.is_file():
        raise RuleViolation(
            f"{comments_file} is missing: a Pol.is export has comments.csv."
        )  # i18n: not shown (the import-polis command, for operators)
    with comments_file.open(encoding="utf-8", newline="") as f:
        comments = list(csv.DictReader(f))
    votes = _votes(folder)
    if not votes:
        raise RuleViolation(
            f"{folder} holds no votes (votes.csv and participants-votes.csv are empty): nothing was imported."
        )  # i18n: not shown (the import-polis command, for operators)
    comment_ids = {row["comment-id"] for row in comments}
    if not any(comment in comment_ids and value in VALUES for _, comment, value, _ in votes):
        raise RuleViolation(
            f"None of the votes in {folder} is on a statement of its comments.csv: nothing was imported."
        )  # i18n: not shown (the import-polis command, for operators)

    participants = sorted({row["author-id"] for row in comments} | {voter for voter, _, _, _ in votes}, key=lambda p: (len(p), p))
    existing = dict(
        db.session.execute(
            select(User.external_id, User.id).where(User.external_id.in_([external_id(consultation, p) for p in participants]))
        ).all()
    )
    if existing:
        raise RuleViolation(
            "This export was imported into this consultation already."
        )  # i18n: not shown (the import-polis command, for operators)
    db.session.execute(
        insert(User),
        [
            {
                "email": f"polis-{consultation.slug}-{p}@participants.invalid",
                "password_hash": "!",
                "display_name": f"Pol.is participant {p}",
                "external_id": external_id(consultation, p),
                "is_site_admin": False,
                "created_at": utcnow(),
            }
            for p in participants
        ],
    )
    user_of = dict(db.session.execute(select(User.external_id, User.id).where(User.external_id.like(f"{consultation.slug}/%"))).all())

    statement_rows = []
    for row in comments:
        body = " ".join(row["comment-body"].split())
        moderated_out = row.get("moderated", "0").strip() == "-1"
        meta = (row.get("is-meta") or "").strip().lower() in ("1", "true", "t")
        statement_rows.append(
            {
                "consultation_id": consultation.id,
                "kind": ContributionKind.STATEMENT,
                "author_id": user_of[external_id(consultation, row["author-id"])],
                "version_id": version.id,
                "depth": 0,
                "body": body,
                "body_html": str(text.render_plain(body)),
                "moderation_state": ModerationState.HIDDEN if moderated_out else ModerationState.VISIBLE,
                "hidden_reason": "Moderated out in Pol.is." if moderated_out else "",
                "is_meta": meta,
                "created_at": _when(row.get("timestamp", "")),
            }
        )
    db.session.execute(insert(Contribution), statement_rows)
    # Contributions of this consultation, in insertion order, match the comments' order.
    new_ids = list(
        db.session.scalars(
            select(Contribution.id)
            .where(Contribution.consultation_id == consultation.id, Contribution.kind == ContributionKind.STATEMENT)
            .order_by(Contribution.id.desc())
            .limit(len(comments))
        )
    )[::-1]
    statement_of = {row["comment-id"]: cid for row, cid in zip(comments, new_ids, strict=True)}

    latest: dict[tuple[int, int], tuple[str, datetime]] = {}
    for voter, comment, value, when in votes:
        if comment in statement_of and value in VALUES:
            latest[(user_of[external_id(consultation, voter)], statement_of[comment])] = (VALUES[value], when)
    db.session.execute(
        insert(Vote),
        [
            {"user_id": u, "consultation_id": consultation.id, "contribution_id": c, "value": v, "created_at": w, "updated_at": w}
            for (u, c), (v, w) in latest.items()
        ],
    )
    db.session.flush()
    return Imported(participants=len(participants), statements=len(statement_rows), votes=len(latest))


def _votes(folder: Path) -> list[tuple[str, str, str, datetime]]:
    """(voter, comment id, value, when), oldest first: from votes.csv (every vote in time
    order, so the latest wins), else from participants-votes.csv (each participant's latest)."""
    history = folder / "votes.csv"
    if history.is_file():
        with history.open(encoding="utf-8", newline="") as f:
            rows = sorted(csv.DictReader(f), key=lambda r: int(r.get("timestamp") or 0))
        if rows:  # some exports carry an empty votes.csv beside a full participants-votes.csv
            return [(r["voter-id"], r["comment-id"], r["vote"].strip(), _when(r.get("timestamp", ""))) for r in rows]
    matrix = folder / "participants-votes.csv"
    if not matrix.is_file():
        raise RuleViolation(
            f"{folder} has no votes: votes.csv is missing or empty and there is no participants-votes.csv."
        )  # i18n: not shown (the import-polis command, for operators)
    fixed = {"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}
    now = utcnow()
    found = []
    with matrix.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            for column, value in row.items():
                if column not in fixed and value not in ("", None):
                    found.append((row["participant"], column, value.strip(), now))
    return found
