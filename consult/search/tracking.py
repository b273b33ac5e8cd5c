"""Keeping the index fresh without touching the services: SQLAlchemy session events.

``after_flush`` notes every Contribution, Consultation, Version, Theme and Block that a flush
added, changed or deleted; ``do_orm_execute`` notes the rows a bulk UPDATE or DELETE on those
tables is about to change (it selects them first, with the statement's own WHERE clause: the
auto-hide of ``moderation.report``, ``unblock``, ``apply_schedule``). What was noted waits in
``session.info`` until the unit of work ends, and a rollback forgets it. ``before_commit`` then
hands it on inside the committing transaction: the PostgreSQL backend writes its documents
there; for Whoosh it becomes a row of the search outbox (``outbox``), and after the commit the
job that applies the outbox is queued (once for a burst). Either way the index is updated from
the committed state by re-reading the touched rows through the visibility filter, so a note only
says "look again", never what to write. A request never writes, or waits for, the Whoosh index.
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from consult.contributions.models import Contribution
from consult.moderation.models import Block, Theme
from consult.proposals.models import Consultation, Section, Version
from consult.search import outbox
from consult.search.documents import Changes

log = logging.getLogger(__name__)

_KEY = "consult_search_changes"
_APPLYING = "consult_search_applying"
_RECORDED = "consult_search_recorded"  # an outbox row was written: queue the job after the commit


def changes_of(session: Session) -> Changes:
    changes = session.info.get(_KEY)
    if changes is None:
        changes = session.info[_KEY] = Changes()
    return changes


def _note(changes: Changes, obj, *, deleted: bool) -> None:
    if isinstance(obj, Contribution):
        if obj.id is not None:
            (changes.removed_contributions if deleted else changes.contributions).add(obj.id)
    elif isinstance(obj, Consultation):
        if obj.id is not None:
            changes.consultations.add(obj.id)
    elif isinstance(obj, Version):
        if obj.consultation_id is not None:
            changes.consultations.add(obj.consultation_id)
    elif isinstance(obj, Theme):
        if obj.id is not None:
            changes.themes.add(obj.id)
    elif isinstance(obj, Block) and obj.organisation_id is not None and obj.user_id is not None:
        changes.blocks.add((obj.organisation_id, obj.user_id))


def _after_flush(session: Session, _context) -> None:
    if session.info.get(_APPLYING):
        return
    changes = changes_of(session)
    for obj in session.new:
        _note(changes, obj, deleted=False)
    for obj in session.dirty:
        if session.is_modified(obj):  # not merely assigned its own value: nothing was written
            _note(changes, obj, deleted=False)
    for obj in session.deleted:
        _note(changes, obj, deleted=True)


#: Bulk statements on these tables are attributed by selecting what their WHERE matches first.
_ATTRIBUTE = {
    "contributions": lambda where: select(Contribution.id).where(where),
    "consultations": lambda where: select(Consultation.id).where(where),
    "themes": lambda where: select(Theme.id).where(where),
    "versions": lambda where: select(Version.consultation_id).where(where),
    "sections": lambda where: select(Version.consultation_id).join(Section, Section.version_id == Version.id).where(where),
    "blocks": lambda where: select(Block.organisation_id, Block.user_id).where(where),
}


def _do_orm_execute(state: ORMExecuteState) -> None:
    if state.is_select or not (state.is_update or state.is_delete or state.is_insert):
        return
    session = state.session
    if session.info.get(_APPLYING):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name not in _ATTRIBUTE:
        return
    changes = changes_of(session)
    if state.is_insert:
        # A bulk INSERT names no rows we could re-read: rebuild rather than miss them.
        log.warning("bulk INSERT into %s: the search index will be rebuilt after the commit", name)
        changes.everything = True
        return
    where = state.statement.whereclause
    if where is None:
        changes.everything = True
        return
    try:
        rows = session.execute(_ATTRIBUTE[name](where)).all()
    except Exception:  # an unusual WHERE we cannot reuse: correctness over cleverness
        log.warning("could not attribute a bulk change of %s: the search index will be rebuilt", name, exc_info=True)
        changes.everything = True
        return
    for row in rows:
        if name == "contributions":
            (changes.removed_contributions if state.is_delete else changes.contributions).add(row[0])
        elif name in ("consultations", "versions", "sections"):
            changes.consultations.add(row[0])
        elif name == "themes":
            changes.themes.add(row[0])
        else:
            changes.blocks.add((row[0], row[1]))


def _service():
    if not has_app_context():
        return None
    return current_app.extensions.get("consult_search")


def _before_commit(session: Session) -> None:
    service = _service()
    if service is None or session.info.get(_APPLYING):
        return
    session.flush()  # so the last changes are noted and visible to the re-read
    changes = session.info.pop(_KEY, None)
    if not changes:
        return
    if service.backend.writes_in_transaction:
        session.info[_APPLYING] = True
        try:
            service.backend.apply_in_transaction(session, changes)
        finally:
            session.info.pop(_APPLYING, None)
    else:
        outbox.record(session, changes)
        session.info[_RECORDED] = True


def _after_commit(session: Session) -> None:
    session.info.pop(_KEY, None)
    if not session.info.pop(_RECORDED, False) or _service() is None:
        return
    outbox.queue_outbox()


def _after_soft_rollback(session: Session, _previous) -> None:
    if not session.in_transaction():
        session.info.pop(_KEY, None)
        session.info.pop(_RECORDED, None)


_installed = False


def install() -> None:
    """Listen on every Session (once per process): the app's, the tests', the CLI's."""
    global _installed  # noqa: PLW0603 (a process-wide once flag for the Session events)
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    _installed = True
