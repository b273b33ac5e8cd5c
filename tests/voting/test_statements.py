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


def write_export(folder: Path, *, comments: list[dict], votes: list[tuple[int, int, int]]) -> Path:
    """A small Pol.is export: comments.csv (with Pol.is's is-meta column) and votes.csv."""
    folder.mkdir()
    with (folder / "comments.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["timestamp", "comment-id", "author-id", "moderated", "is-meta", "comment-body"])
        writer.writeheader()
        writer.writerows(comments)
    with (folder / "votes.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
        writer.writerows([1_600_000_000_000 + i, "", c, p, v] for i, (p, c, v) in enumerate(votes))
    return folder


def test_meta_statements_are_imported_and_left_out_of_the_map(app, consultation, tmp_path):
    """Pol.is's is-meta statements ("this is about the conversation itself") were imported as
    ordinary ones and could represent a group or be called a consensus."""
    comments = [
        {"timestamp": "1600000000000", "comment-id": str(c), "author-id": "0", "moderated": "1",
         "is-meta": "true" if c == 12 else "false", "comment-body": f"Statement {c}"}
        for c in range(13)
    ]  # fmt: skip
    camps = [(p, c, 1 if (p % 2) == (c < 6) else -1) for p in range(30) for c in range(12)]
    everyone_agrees = [(p, 12, 1) for p in range(30)]  # the meta statement would be the first consensus
    folder = write_export(tmp_path / "meta", comments=comments, votes=camps + everyone_agrees)
    done = app.test_cli_runner().invoke(args=["import-polis", str(folder), "--consultation", "taxis"])
    assert done.exit_code == 0, done.output
    assert "390 votes by 30 participants" in done.output
    meta = db.session.scalar(
        select(Contribution).where(Contribution.consultation_id == consultation.id, Contribution.body == "Statement 12")
    )
    assert meta.is_meta and meta.moderation_state == "visible"  # still shown and voted on
    data = statements.compute_map(consultation)
    assert data["k"] == 2
    quoted = {s["statement"] for g in data["groups"] for s in g["representative"]}
    quoted |= {s["statement"] for items in data["consensus"].values() for s in items}
    assert quoted and meta.id not in quoted


def test_an_export_whose_votes_match_no_statement_is_refused(app, consultation, tmp_path):
    comments = [
        {"timestamp": "", "comment-id": str(c), "author-id": "0", "moderated": "1", "is-meta": "", "comment-body": f"S{c}"}
        for c in range(3)
    ]
    folder = write_export(tmp_path / "mismatch", comments=comments, votes=[(p, 100 + c, 1) for p in range(5) for c in range(3)])
    refused = app.test_cli_runner().invoke(args=["import-polis", str(folder), "--consultation", "taxis"])
    assert refused.exit_code != 0 and "None of the votes" in refused.output and "nothing was imported" in refused.output
    assert db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.consultation_id == consultation.id)) == 0


def test_the_stored_map_holds_its_number_of_groups_as_votes_arrive(consultation):
    """The k-smoothing state lives in opinion_maps: a map of 2 groups stays at 2 until another k
    has won four computations in a row."""
    writer = make_user(name="Seeder")
    items = [statements.post_statement(consultation, actor=writer, body=f"Statement {i}") for i in range(12)]
    for p in range(36):  # three camps of 12, each agreeing with its own four statements
        voter = make_user(name=f"Voter {p}")
        for s, item in enumerate(items):
            own = s // 4 == p % 3
            value = "pass" if s == p % 12 and not own else "agree" if own else "disagree"
            voting.cast_vote(consultation, actor=voter, value=value, contribution=item)
    cache = OpinionMapCache(consultation_id=consultation.id, vote_count=-1, result="{}", best_k=2, best_k_runs=9, shown_k=2)
    db.session.add(cache)
    db.session.flush()
    shown = [statements.compute_map(consultation)["k"] for _ in range(4)]
    assert shown == [2, 2, 2, 3]
    assert (cache.best_k, cache.best_k_runs, cache.shown_k) == (3, 4, 3)
