"""What the outcome page shows, computed from the domains."""

from __future__ import annotations

from dataclasses import dataclass, fields
from itertools import pairwise
from typing import Any

from flask_babel import lazy_gettext as _l

from consult.amendments import explanations
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.groups import activity as group_activity
from consult.groups.models import Group
from consult.moderation import services as moderation
from consult.proposals.models import Consultation, Section, Version
from consult.proposals.services import SectionDiff, diff_versions
from consult.voting import services as voting

NOT_YET = _l("The outcome is published when the consultation is concluded.")


@dataclass
class Outcome:
    """The page's contents; the names are the template's."""

    consultation: Consultation
    preparing: bool
    changes: list[tuple[Version, Version, list[SectionDiff], dict[str, list[Contribution]]]]
    amendments: list[Contribution]
    tallies: dict[int, voting.Tally]
    themes: list
    section_summaries: dict
    figures: moderation.Figures
    sections: dict[str, Section]
    orphaned: dict[int, list]  # per version id: the annotations whose passage it no longer has
    #: the author's reasons for each version's changes: version number -> section key -> ChangeReason
    reasons: dict[int, dict]
    # issue 20 (drafts): the groups that took part, each with the people it represents, and
    # how many people they represent together (each person once, whatever groups they are in)
    groups: list[tuple[Group, int]]
    people_represented: int

    def context(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def outcome_of(consultation: Consultation) -> Outcome:
    """The outcome as the public sees it (a preview before the consultation is concluded): each
    published version's changed sections with the contributions they cite and the author's
    reasons, every visible amendment with its tally and answer, the themes and section summaries,
    the figures, and the annotations whose quoted passage each new version no longer has."""
    c = consultation
    published = c.published_versions
    changes = [
        (older, newer, [d for d in diff_versions(older, newer) if d.status != "kept"], amendments.citations_of(newer))
        for older, newer in pairwise(published)
    ]
    answered = list(db.session.scalars(amendments.amendments_query(c, None)))
    return Outcome(
        consultation=c,
        preparing=not c.is_concluded,
        changes=changes,
        amendments=answered,
        tallies=voting.tallies(a.id for a in answered),
        themes=moderation.themes_of(c),
        section_summaries=moderation.section_summaries(c),
        figures=moderation.figures(c),
        sections={s.key: s for v in published for s in v.sections},
        orphaned={newer.id: [c for _, c in comments.orphaned_on(newer, None)] for _, newer in pairwise(published)},
        reasons={v.number: explanations.reasons_of(v) for v in published[1:]},
        groups=group_activity.groups_in(c),
        people_represented=group_activity.people_represented(c),
    )
