"""The forms of voting, moderation and citing: bad input is a clear 4xx that stores nothing, and a
refused rule is said on its form with what was typed (core/forms.refused_on)."""

import html
import importlib
from pathlib import Path

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DecimalField, FloatField, IntegerField, StringField
from wtforms.validators import AnyOf, EqualTo, Length, NumberRange

import consult
from consult.amendments.models import Citation
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.forms import WHOLE_FORM, Form, WholeNumberField, first_error, refused_on
from consult.core.models import db
from consult.moderation import services as moderation
from consult.moderation.models import Block, ContributionTheme, ModerationLogEntry, Report, SectionSummary, Theme
from consult.proposals.models import Consultation, Version
from consult.voting import statements
from consult.voting.models import Vote
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---- voting ----------------------------------------------------------------------------------


def test_a_vote_that_names_nothing_votable_is_refused_and_stores_nothing(client, consultation, citizen):
    statement = statements.post_statement(consultation, actor=make_user(name="Writer"), body="Fares should be published.")
    db.session.commit()
    login(client, citizen)
    for data, status, message in (
        ({"contribution_id": "nine", "value": "agree"}, 400, "must be given by its number"),
        ({"contribution_id": "²", "value": "agree"}, 400, "must be given by its number"),
        ({"contribution_id": "99999999999", "value": "agree"}, 400, "must be given by its number"),
        ({"value": "agree"}, 400, "Say what you are voting on"),
        ({"section_key": "   ", "value": "support"}, 400, "Say what you are voting on"),
        ({"contribution_id": str(statement.id), "value": "maybe"}, 400, "Choose how you vote"),
        ({"contribution_id": str(statement.id)}, 400, "Choose how you vote"),
        ({"contribution_id": "999999", "value": "agree"}, 404, "no such item in this consultation"),
        ({"section_key": "nowhere", "value": "support"}, 400, "That section is not in the current version"),
    ):
        response = client.post("/c/access/vote", data=data)
        assert response.status_code == status and message in page(response), data
    assert count(Vote) == 0
    done = client.post("/c/access/vote", data={"contribution_id": str(statement.id), "value": "agree", "next": "//elsewhere.example/"})
    assert done.status_code == 302 and done.headers["Location"] == f"/c/access/statements#statement-{statement.id}"  # not to another site
    assert count(Vote) == 1


def test_a_refused_statement_is_said_on_its_form_with_what_was_typed(client, consultation, citizen):
    login(client, citizen)
    response = client.post("/c/access/statements", data={"body": "x" * 281})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in page(response) and "x" * 281 + "</textarea>" in page(response)
    empty = client.post("/c/access/statements", data={"body": "   "})
    assert empty.status_code == 400 and 'id="statement-body-error"' in page(empty)
    assert count(Contribution, Contribution.kind == "statement") == 0


# ---- moderation ------------------------------------------------------------------------------


def test_the_queue_refuses_a_bad_selection_or_action_and_changes_nothing(client, consultation, citizen, moderator, organisation):
    target = comments.post_comment(consultation, actor=citizen, body="Rude words", section_key="fees")
    moderation.report(target, actor=make_user(name="Reporter"), reason="offensive")  # in the queue
    elsewhere = make_consultation(make_organisation(slug="elsewhere"), slug="elsewhere")
    theirs = comments.post_comment(
        elsewhere,
        actor=citizen,
        body="Other words",
        section_key="introduction" if elsewhere.current_version.section("introduction") else elsewhere.current_version.sections[0].key,
    )
    db.session.commit()
    login(client, moderator)
    url = f"/o/{organisation.slug}/moderation"
    bad_number = client.post(url, data={"ids": [str(target.id), "x"], "action": "hide", "reason": "Rude."})
    assert bad_number.status_code == 400 and "selected by their numbers" in page(bad_number)
    other_org = client.post(url, data={"ids": [str(theirs.id)], "action": "hide", "reason": "Rude."})
    assert other_org.status_code == 400 and "this organisation's consultations only" in page(other_org)
    unknown = client.post(url, data={"ids": [str(target.id)], "action": "delete", "reason": "Rude."})
    shown = page(unknown)
    assert unknown.status_code == 400 and '<a href="#action">Choose an action' in shown
    assert f'id="select-{target.id}" aria-label="Select #{target.id}" checked' in shown and 'value="Rude."' in shown  # kept
    nothing = client.post(url, data={"action": "approve"})
    assert nothing.status_code == 400 and "Select at least one contribution." in page(nothing)
    db.session.refresh(target)
    db.session.refresh(theirs)
    assert target.moderation_state == "visible" and theirs.moderation_state == "visible"
    assert count(ModerationLogEntry) == 0 and count(Report, Report.resolved_at.is_(None)) == 1
    done = client.post(url, data={"ids": [str(target.id)], "action": "hide", "reason": "Rude."})
    assert done.status_code == 302
    assert "Done: 1 contribution hidden." in page(client.get(url))


def test_operations_are_named_and_a_string_is_one_of_them(consultation, citizen, moderator):
    target = comments.post_comment(consultation, actor=citizen, body="Words", section_key="fees")
    assert [o.done for o in moderation.Operation] == ["approved", "hidden", "restored"]
    assert moderation.act([target], actor=moderator, action=moderation.Operation.HIDE, reason="No.") == 1
    assert moderation.act([target], actor=moderator, action="restore") == 1
    with pytest.raises(RuleViolation) as refused:
        moderation.act([target], actor=moderator, action="purge")
    assert refused.value.field == "action" and target.moderation_state == "visible"


def test_a_bad_report_is_said_on_its_form_and_stores_nothing(client, consultation, citizen):
    target = comments.post_comment(consultation, actor=make_user(name="Writer"), body="Words", section_key="fees")
    db.session.commit()
    login(client, citizen)
    response = client.post(f"/contributions/{target.id}/report", data={"reason": "other", "detail": "  "})
    assert response.status_code == 400 and "Say what is wrong with it." in page(response)
    assert 'value="other" checked' in page(response)  # the choice kept
    unknown = client.post(f"/contributions/{target.id}/report", data={"reason": "boring", "detail": "It bores me"})
    assert unknown.status_code == 400 and "It bores me</textarea>" in page(unknown)
    assert count(Report) == 0


def test_tagging_refuses_bad_numbers_and_other_consultations(client, consultation, citizen, moderator, organisation):
    words = comments.post_comment(consultation, actor=citizen, body="Words", section_key="fees")
    theme = moderation.create_theme(consultation, actor=moderator, name="Fees")
    other = make_consultation(organisation, slug="other")
    foreign = moderation.create_theme(other, actor=moderator, name="Elsewhere")
    db.session.commit()
    login(client, moderator)
    for data, message in (
        ({"theme_id": "x", "ids": [str(words.id)]}, "Choose one of this consultation's themes."),
        ({"theme_id": str(foreign.id), "ids": [str(words.id)]}, "Choose one of this consultation's themes."),
        ({"ids": [str(words.id)]}, "Choose one of this consultation's themes."),
        ({"theme_id": str(theme.id), "ids": ["1.5"]}, "selected by their numbers"),
    ):
        response = client.post("/c/access/themes", data=data)
        assert response.status_code == 400 and message in page(response), data
    assert count(ContributionTheme) == 0 and count(Theme) == 2


def test_a_refused_summary_keeps_what_was_written(client, consultation, moderator):
    theme = moderation.create_theme(consultation, actor=moderator, name="Fees")
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/c/access/themes/{theme.id}/summary", data={"summary": "People agree [#999999]."})
    assert response.status_code == 400 and "People agree [#999999].</textarea>" in page(response)
    assert '<a href="#summary">' in page(response)
    db.session.refresh(theme)
    assert theme.summary == ""


def test_a_refused_block_names_its_field_and_keeps_the_number_as_typed(client, consultation, moderator, organisation):
    login(client, moderator)
    response = client.post(f"/o/{organisation.slug}/block", data={"contribution_id": "#12x", "reason": "Abuse."})
    assert response.status_code == 400 and 'value="#12x"' in page(response) and 'value="Abuse."' in page(response)
    assert count(Block) == 0


# ---- citing in the draft -----------------------------------------------------------------------


def test_citing_refuses_what_is_not_a_number_and_stores_nothing(client, consultation, author, citizen):
    from consult.amendments import services as amendments

    words = comments.post_comment(consultation, actor=citizen, body="Words", section_key="fees")
    amendments.start_next_version(consultation, actor=author)
    db.session.commit()
    login(client, author)
    for data, message in (
        ({"contribution_id": "abc", "section_key": "fees"}, "Give the number of the comment or amendment"),
        ({"contribution_id": "", "section_key": "fees"}, "Give the number of the comment or amendment"),
        ({"contribution_id": "999999", "section_key": "fees"}, "There is no contribution 999999 to cite"),
    ):
        response = client.post("/c/access/cite", data=data)
        assert response.status_code == 400 and message in page(response), data
    assert count(Citation) == 0
    assert client.post("/c/access/cite", data={"contribution_id": f" #{words.id} ", "section_key": "fees"}).status_code == 302
    assert count(Citation) == 1
    refused = client.post("/c/access/uncite", data={"contribution_id": f"#{words.id}", "section_key": "fees"})
    assert refused.status_code == 400 and "That citation is not in the draft." in page(refused)
    assert count(Citation) == 1


# ---- the helper ----------------------------------------------------------------------------------


class _Form(FlaskForm):
    class Meta:
        csrf = False

    body = StringField()
    quote = StringField()


def test_refused_on_puts_a_refusal_where_it_belongs_and_leaves_the_rest_to_the_error_page(app):
    with app.test_request_context(method="POST", data={"body": "typed"}):
        form = _Form()
        assert refused_on(form, RuleViolation("About the quote.", status=400, field="quote"), fallback="body")
        assert form.quote.errors == ["About the quote."] and form.body.data == "typed"
        assert refused_on(form, RuleViolation("About nothing here.", status=400, field="title"), fallback="body")
        assert form.body.errors == ["About nothing here."]
        assert first_error(form) == ("body", "About nothing here.")
        assert not refused_on(form, RuleViolation("Closed meanwhile.", status=409, field="body"), fallback="body")
        assert not refused_on(form, RuleViolation("About nothing here.", status=400))
        whole = _Form()
        assert refused_on(whole, RuleViolation("Select something.", status=400), fallback=WHOLE_FORM)
        assert first_error(whole) == (None, "Select something.")


# ---- every field has a limit on the server -------------------------------------------------------

FORM_MODULES = [f"consult.{p.parent.name}.forms" for p in sorted(Path(consult.__file__).parent.glob("*/forms.py"))]
# a domain with several pages has several form modules (issue 20: consult/groups/*_forms.py)
FORM_MODULES += [f"consult.{p.parent.name}.{p.stem}" for p in sorted(Path(consult.__file__).parent.glob("*/*_forms.py"))]


def _form_classes() -> list[type[FlaskForm]]:
    for name in FORM_MODULES:
        importlib.import_module(name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ in FORM_MODULES and cls is not Form:  # the forms' base has no fields
            found.append(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def _unbounded(form: FlaskForm) -> list[str]:
    """The fields of ``form`` that accept text of any length or a number of any size."""

    def bounded(field) -> bool:
        if isinstance(field, WholeNumberField):
            return True  # ASCII digits within the database's range (params.whole_number)
        if isinstance(field, StringField):
            return any(
                (isinstance(v, Length) and v.max >= 0)
                or isinstance(v, AnyOf)
                or (isinstance(v, EqualTo) and bounded(form[v.fieldname]))  # equal to a bounded field
                for v in field.validators
            )
        if isinstance(field, IntegerField | DecimalField | FloatField):
            return any(isinstance(v, NumberRange) and v.min is not None and v.max is not None for v in field.validators)
        return True  # choices, booleans, dates, files and lists of whole numbers parse into bounded values

    return [name for name, field in form._fields.items() if name != "csrf_token" and not bounded(field)]


def test_every_text_field_of_every_form_has_a_maximum_and_every_number_a_range(app):
    forms = _form_classes()
    assert {cls.__module__ for cls in forms} == set(FORM_MODULES) - {"consult.core.forms"}  # the walk finds them all
    with app.test_request_context():
        unbounded = {f"{cls.__module__}.{cls.__name__}": _unbounded(cls(meta={"csrf": False})) for cls in forms}
    assert {name: fields for name, fields in unbounded.items() if fields} == {}


OVER = [
    # (who posts, url, what is sent (too long or out of range), the rows that must stay as they were, a word of the refusal)
    ("citizen", "/c/access/comments", {"section_key": "fees", "body": "x" * 5_001}, Contribution, "at most 5,000"),
    ("citizen", "/c/access/comments", {"section_key": "f" * 81, "body": "Fine words."}, Contribution, None),
    (
        "citizen",
        "/c/access/comments",
        {"section_key": "fees", "body": "Ok.", "quote": "first hour", "start": "9" * 12},
        Contribution,
        "0 to 100,000",
    ),
    ("citizen", "/c/access/s/fees/amend", {"proposed_text": "No fee.", "rationale": "x" * 20_001}, Contribution, "at most"),
    ("citizen", "/c/access/statements", {"body": "x" * 281}, Contribution, "at most 280"),
    ("citizen", "/c/access/vote", {"section_key": "fees", "value": "support", "next": "/" + "x" * 2_000}, Vote, None),
    ("moderator", "/c/access/themes", {"name": "x" * 121}, Theme, "at most 120"),
    ("moderator", "/c/access/s/fees/summary", {"summary": "x" * 20_001}, SectionSummary, "at most 20,000"),
    (
        "moderator",
        "/o/council/moderation",
        {"ids": ["{comment}"], "action": "hide", "reason": "x" * 501},
        ModerationLogEntry,
        "at most 500",
    ),
    ("moderator", "/o/council/moderation", {"ids": ["{comment}"], "action": "approve", "rule": "x" * 41}, ModerationLogEntry, None),
    ("moderator", "/o/council/block", {"contribution_id": "{comment}", "reason": "x" * 501}, Block, "at most 500"),
    ("author", "/consultations/new", {"organisation_id": "{organisation}", "title": "x" * 201, "licence": "CC-BY-4.0"}, Consultation, None),
    ("author", "/c/access/publish", {"note": "x" * 5_001}, Version, None),
]


@pytest.mark.parametrize(
    ("who", "url", "data", "model", "said"), OVER, ids=[f"{url} {next(iter(d.items()))[0]}" for _, url, d, _, _ in OVER]
)
def test_over_long_or_out_of_range_input_is_a_400_and_stores_nothing(
    request, client, consultation, organisation, who, url, data, model, said
):
    comment = comments.post_comment(consultation, actor=make_user(name="Writer"), body="Words", section_key="fees")
    db.session.commit()
    if model is SectionSummary:
        from consult.proposals.models import Transition
        from consult.proposals.services import change_state

        change_state(consultation, Transition.CLOSE, actor=request.getfixturevalue("author"))  # summaries are written after the close
    login(client, request.getfixturevalue(who))
    before = count(model)
    filled = {
        key: value.format(comment=comment.id, organisation=organisation.id)
        if isinstance(value, str)
        else [v.format(comment=comment.id) for v in value]
        for key, value in data.items()
    }
    response = client.post(url, data=filled)
    assert response.status_code == 400, page(response)[:2000]
    assert said is None or said in page(response)
    assert count(model) == before
    db.session.refresh(comment)
    assert comment.moderation_state == "visible"
