"""A citizen who did a bit of everything, and the people around them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from consult.accounts.models import SignInAttempt, User
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.mail import queue_mail
from consult.core.models import db
from consult.moderation import services as moderation
from consult.notifications import delivery
from consult.notifications import services as notifications
from consult.notifications.models import Delivery, EventKind
from consult.proposals.models import Consultation
from consult.voting import services as voting
from consult.voting import statements
from tests.factories import make_consultation, make_user


@dataclass
class World:
    consultation: Consultation
    citizen: User
    other: User
    author: User
    comment: Contribution  # the citizen's, replied to by ``other``
    reply: Contribution  # other's reply to it
    lonely: Contribution  # the citizen's comment nobody answered
    annotation: Contribution
    amendment: Contribution  # the citizen's, open
    answered: Contribution  # the citizen's, answered by the author
    statement: Contribution  # the citizen's statement
    others_amendment: Contribution
    others_statement: Contribution
    others_comment: Contribution


@pytest.fixture
def world(organisation, author) -> World:
    consultation = make_consultation(organisation, author=author, state="open", slug="open-data")
    section = consultation.current_version.sections[0]
    citizen = make_user(name="Casey Citizen", email="casey@example.org")
    other = make_user(name="Olive Other", email="olive@example.org")
    comment = comments.post_comment(consultation, actor=citizen, body="Publish the data monthly.", section_key=section.key)
    reply = comments.post_comment(consultation, actor=other, body="Weekly would be better.", parent=comment)
    lonely = comments.post_comment(consultation, actor=citizen, body="A lonely remark.")
    annotation = comments.post_comment(
        consultation, actor=citizen, body="Which data exactly?", section_key=section.key, quote="publishes open data"
    )
    amendment = amendments.propose_amendment(
        consultation,
        actor=citizen,
        section_key=section.key,
        rationale="Be precise.",
        quote="open data",
        replacement="open, machine-readable data",
    )
    answered = amendments.propose_amendment(
        consultation, actor=citizen, section_key=section.key, rationale="Say when.", quote="publishes", replacement="publishes every month"
    )
    amendments.answer_amendment(answered.amendment, actor=author, decision="accepted", reason="Agreed, we will say when.")
    others_amendment = amendments.propose_amendment(
        consultation, actor=other, section_key=section.key, rationale="Shorter.", quote="how the council", replacement="how we"
    )
    statement = statements.post_statement(consultation, actor=citizen, body="Data should be free.")
    others_statement = statements.post_statement(consultation, actor=other, body="Data should be timely.")
    others_comment = comments.post_comment(consultation, actor=other, body="Olive's own point.")
    voting.cast_vote(consultation, actor=citizen, value="support", contribution=others_amendment)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=others_statement)
    voting.cast_vote(consultation, actor=citizen, value="oppose", section_key=section.key)
    voting.cast_vote(consultation, actor=other, value="support", contribution=amendment)
    voting.cast_vote(consultation, actor=other, value="disagree", contribution=statement)
    amendments.co_support(others_amendment.amendment, actor=citizen)
    moderation.report(others_comment, actor=citizen, reason="off_topic", detail="Not about the policy.")
    notifications.follow(consultation, actor=citizen)
    delivery.save_settings(citizen, deliveries={EventKind.NEW_COMMENT: Delivery.DAILY}, follow_when_taking_part=False, actor=citizen)
    queue_mail(citizen.email, "Welcome to Consult", "Hello Casey")
    db.session.add(SignInAttempt(email=citizen.email, address="192.0.2.7"))
    db.session.commit()
    return World(
        consultation=consultation,
        citizen=citizen,
        other=other,
        author=author,
        comment=comment,
        reply=reply,
        lonely=lonely,
        annotation=annotation,
        amendment=amendment,
        answered=answered,
        statement=statement,
        others_amendment=others_amendment,
        others_statement=others_statement,
        others_comment=others_comment,
    )
