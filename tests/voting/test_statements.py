"""Statements, agree/disagree/pass votes, the Pol.is import and the opinion map end to end."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import func, select

from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.permissions import PermissionDenied
from consult.voting import services as voting
from consult.voting import statements
from consult.voting.models import OpinionMapCache, Vote
from tests.factories import make_consultation, make_user

POLIS = Path(__file__).resolve().parents[1] / "data" / "polis"


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="taxis", title="Ride sharing")


def test_statements_are_short_and_offered_least_voted_first(consultation, citizen):
    with pytest.raises(RuleViolation, match="at most 280 characters"):
        statements.post_statement(consultation, actor=citizen, body="x" * 281)
    writer = make_user(name="Wendy Writer")
    a = statements.post_statement(consultation, actor=writer, body="Drivers  need\na licence.")
    b = statements.post_statement(consultation, actor=writer, body="Fares should be published.")
    assert a.body == "Drivers need a licence."  # one line, spaces tidied
    voting.cast_vote(consultation, actor=make_user(name="Early"), value="agree", contribution=a)
    assert statements.next_statement(consultation, citizen).id == b.id  # the least voted
    voting.cast_vote(consultation, actor=citizen, value="pass", contribution=b)
    assert statements.next_statement(consultation, citizen).id == a.id
    voting.cast_vote(consultation, actor=citizen, value="disagree", contribution=a)
    assert statements.next_statement(consultation, citizen) is None
    assert statements.next_statement(consultation, writer) is None  # their own are not offered
    with pytest.raises(RuleViolation, match="agree, disagree, pass"):
        voting.cast_vote(consultation, actor=citizen, value="support", contribution=a)


def test_statements_need_an_open_consultation(organisation, author, citizen):
    closed = make_consultation(organisation, author=author, state="closed", slug="closed-taxis")
    with pytest.raises(PermissionDenied):
        statements.post_statement(closed, actor=citizen, body="Too late.")


def polis_groups(folder: Path) -> dict[str, int]:
    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as f:
        return {row["participant"]: int(row["group-id"]) for row in csv.DictReader(f) if row["group-id"] not in ("", None)}


def test_an_empty_votes_csv_falls_back_to_participants_votes_and_no_votes_at_all_is_refused(app, consultation, tmp_path):
    """An export with an empty votes.csv imported "0 votes" silently, and its map said nothing."""
    source = POLIS / "scoop-hivemind.biodiversity"
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(source / "comments.csv", folder / "comments.csv")
    shutil.copy(source / "participants-votes.csv", folder / "participants-votes.csv")
    (folder / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote\n", encoding="utf-8")  # the header only
    runner = app.test_cli_runner()

    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(folder / "comments.csv", empty / "comments.csv")
    shutil.copy(folder / "votes.csv", empty / "votes.csv")
    refused = runner.invoke(args=["import-polis", str(empty), "--consultation", "taxis"])
    assert refused.exit_code != 0 and "no votes" in refused.output
    assert db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.consultation_id == consultation.id)) == 0

    done = runner.invoke(args=["import-polis", str(folder), "--consultation", "taxis"])
    assert done.exit_code == 0, done.output
    votes = db.session.scalar(select(func.count()).select_from(Vote).where(Vote.consultation_id == consultation.id))
    assert votes > 1000 and f"{votes} votes" in done.output


def test_a_polis_export_imports_and_maps_like_polis(app, consultation):
    folder = POLIS / "scoop-hivemind.biodiversity"
    runner = app.test_cli_runner()
    done = runner.invoke(args=["import-polis", str(folder), "--consultation", "taxis"])
    assert done.exit_code == 0, done.output
    assert "Imported" in done.output
    again = runner.invoke(args=["import-polis", str(folder), "--consultation", "taxis"])
    assert again.exit_code != 0 and "imported into this consultation already" in again.output

    printed = runner.invoke(args=["opinion-map", "taxis", "--json"])
    assert printed.exit_code == 0, printed.output
    data = json.loads(printed.output)
    theirs = polis_groups(folder)
    ours = {p: group["id"] for group in data["groups"] for p in group["participants"]}
    both = sorted(set(ours) & set(theirs))
    assert data["k"] == len(set(theirs.values())) == 2
    assert adjusted_rand_score([theirs[p] for p in both], [ours[p] for p in both]) >= 0.95
    assert data["consensus"]["agree"] and all(g["representative"] for g in data["groups"])
    # stored, with the votes it saw, so pages know it is current
    cache = db.session.get(OpinionMapCache, consultation.id)
    assert cache.vote_count == db.session.scalar(select(func.count()).select_from(Vote).where(Vote.consultation_id == consultation.id))
    assert statements.cached_map(consultation).current is True
    hidden = db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.moderation_state == "hidden"))
    assert hidden > 0  # moderated-out comments are imported hidden
