"""Adding a contribution: the one way every kind (comment, reply, amendment, statement) is
written, so the open check, the body's rules, its rendering and the initial moderation state
are applied once, in the same order, for all of them.

Like every service it takes the acting user as ``actor``, checks permission through
``consult.permissions``, flushes and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from consult.accounts.models import User
from consult.contributions.models import Contribution, ContributionKind
from consult.core import i18n, text
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.signals import contribution_posted
from consult.core.templating import format_number
from consult.moderation import services as moderation
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation
from consult.proposals.services import hold_open

#: The longest quote an annotation or an amendment may name.
MAX_QUOTE_LENGTH = 2_000


@dataclass(frozen=True)
class BodyRule:
    """How one kind's body is written: its limit, what is said when it is empty or too long,
    and how it is rendered (Markdown, or plain text for short statements)."""

    max_length: int
    when_empty: str
    #: the refusal of a body too long, given the limit and the body's length as written
    too_long: Callable[[str, str], str]
    markdown: bool = True
    collapse_space: bool = False
    comma_numbers: bool = True

    def check(self, body: str | None) -> str:
        body = " ".join((body or "").split()) if self.collapse_space else (body or "").strip()
        if not body:
            raise RuleViolation(str(self.when_empty), status=400)
        if len(body) > self.max_length:
            if self.comma_numbers:
                limit, length = format_number(self.max_length), format_number(len(body))
            else:
                limit, length = str(self.max_length), str(len(body))
            raise RuleViolation(self.too_long(limit, length), status=400)
        return body

    def render(self, body: str) -> str:
        return str(text.render_markdown(body) if self.markdown else text.render_plain(body))


def _comment_too_long(limit: str, length: str) -> str:
    return _("A comment can be at most %(limit)s characters; yours has %(length)s.", limit=limit, length=length)


def _rationale_too_long(limit: str, length: str) -> str:
    return _("A rationale can be at most %(limit)s characters; yours has %(length)s.", limit=limit, length=length)


def _statement_too_long(limit: str, length: str) -> str:
    return _("A statement can be at most %(limit)s characters; yours has %(length)s.", limit=limit, length=length)


def _answer_too_long(limit: str, length: str) -> str:
    return _("An answer can be at most %(limit)s characters; yours has %(length)s.", limit=limit, length=length)


COMMENT_BODY = BodyRule(max_length=5_000, when_empty=_l("Write something before posting."), too_long=_comment_too_long)
BODY_RULES: dict[ContributionKind, BodyRule] = {
    ContributionKind.COMMENT: COMMENT_BODY,
    ContributionKind.REPLY: COMMENT_BODY,
    # an amendment's body is its rationale; the proposed words are on its Amendment row
    ContributionKind.AMENDMENT: BodyRule(
        max_length=5_000, when_empty=_l("Say why: an amendment needs a rationale."), too_long=_rationale_too_long
    ),
    ContributionKind.STATEMENT: BodyRule(
        max_length=280,
        when_empty=_l("Write the statement."),
        too_long=_statement_too_long,
        markdown=False,
        collapse_space=True,
        comma_numbers=False,
    ),
    # a questionnaire's free-text answer: plain text (its question sets a shorter limit for short answers)
    ContributionKind.ANSWER: BodyRule(max_length=5_000, when_empty=_l("Write your answer."), too_long=_answer_too_long, markdown=False),
}

#: Which permission each kind needs on the consultation.
ACTIONS: dict[ContributionKind, Action] = {
    ContributionKind.COMMENT: Action.POST_COMMENT,
    ContributionKind.REPLY: Action.POST_COMMENT,
    ContributionKind.AMENDMENT: Action.PROPOSE_AMENDMENT,
    ContributionKind.STATEMENT: Action.POST_STATEMENT,
    ContributionKind.ANSWER: Action.ANSWER_QUESTIONNAIRE,
}


def add_contribution(
    consultation: Consultation,
    *,
    actor: User,
    kind: ContributionKind,
    body: str | None,
    prepare: Callable[[Contribution], None] | None = None,
    language: str | None = None,
) -> Contribution:
    """Add what ``actor`` says to ``consultation``: only while it takes contributions (the
    permission, then the state re-read under a shared lock so a close cannot cross it), on its
    current version, with a body that follows its kind's rule, starting visible or, when the
    consultation is pre-moderated and the author has nothing approved yet, pending.

    ``prepare`` fills in what is particular to the kind (a section, a parent, an anchor, the
    amendment's words) and may refuse with a ``RuleViolation``; it runs before the insert.

    ``language`` is the language the contribution is written in; by default the language the
    interface speaks to its author."""
    authorize(actor, ACTIONS[kind], consultation)
    now = hold_open(consultation)
    rule = BODY_RULES[kind]
    body = rule.check(body)
    version = consultation.current_version
    if version is None:
        raise RuleViolation(_("This consultation has no published text yet."))
    contribution = Contribution(
        consultation=consultation,
        author=actor,
        version=version,
        kind=kind,
        body=body,
        body_html=rule.render(body),
        language=i18n.supported(language) or i18n.current_language(),
        moderation_state=moderation.initial_state(consultation, actor),
        created_at=now,
    )
    if prepare is not None:
        prepare(contribution)
    db.session.add(contribution)
    db.session.flush()
    moderation.held(contribution)
    contribution_posted.send(contribution, actor=actor)
    return contribution


def edited_body(contribution: Contribution, body: str | None) -> tuple[str, str]:
    """The checked and rendered new body of an edited contribution, by its kind's rule."""
    rule = BODY_RULES[ContributionKind(contribution.kind)]
    body = rule.check(body)
    return body, rule.render(body)
