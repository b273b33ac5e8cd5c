"""The open policy record (``consult export``, ``/c/SLUG/record.zip``): every file it writes, checked
against its JSON Schema (schema/record.schema.json in the record), the W3C Web Annotation MUSTs and what the public may see."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from consult.accounts.models import User
from consult.amendments import services as amendments
from consult.amendments.models import Amendment, AmendmentState, AmendmentSupporter, Citation
from consult.comments.models import Anchor
from consult.comments.services import anchor_text
from consult.comments.w3c import ANNO_CONTEXT
from consult.contributions.models import Contribution, ContributionRevision
from consult.core.models import db, utcnow
from consult.moderation.models import (
    Block,
    ContributionTheme,
    ModerationLogEntry,
    Report,
    SectionSummary,
    SummaryCitation,
    Theme,
)
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Transition
from consult.record import export
from consult.voting.models import Vote
from tests.factories import explain_changes, make_consultation, make_user
from tests.w3c_validation import explain, must_failures

BASE = "http://consult.test"
SCHEMA = json.loads((export.BUNDLED / "schema" / "record.schema.json").read_text(encoding="utf-8"))
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SECRETS = ("HIDDEN-WORDS", "DELETED-WORDS", "BLOCKED-WORDS", "PENDING-WORDS")
CSV_FILES = [
    "contributions.csv",
    "amendments.csv",
    "tallies.csv",
    "sections.csv",
    "citations.csv",
    "themes.csv",
    "moderation_log.csv",
    "opinion_map.csv",
    "attachments.csv",  # issue 21: the files attached, with their checksums
    "questionnaire_results.csv",  # issue 21: the questionnaire (tests/questionnaires/test_pages.py checks its rows)
    "questionnaire_responses.csv",
]


def schema_errors(document: dict) -> list[str]:
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(document)]


def say(
    c: Consultation,
    who: User | None,
    body: str,
    *,
    kind: str = "comment",
    section: str | None = None,
    parent: Contribution | None = None,
    quote: str | None = None,
    **fields,
) -> Contribution:
    """A contribution row, inserted as the services would leave it (moderation's services are
    written elsewhere; rows keep these tests independent of them)."""
    version = c.current_version
    contribution = Contribution(
        consultation=c,
        kind=kind,
        author=who,
        version=version,
        section_key=section,
        parent=parent,
        thread_id=(parent.thread_id or parent.id) if parent else None,
        depth=parent.depth + 1 if parent else 0,
        body=body,
        body_html=f"<p>{body}</p>",
        **fields,
    )
    if quote:
        words = anchor_text(version.section(section))
        start = words.index(quote)
        end = start + len(quote)
        contribution.anchors.append(
            Anchor(
                version=version,
                section_key=section,
                start=start,
                end=end,
                exact=quote,
                prefix=words[max(0, start - 32) : start],
                suffix=words[end : end + 32],
            )
        )
    db.session.add(contribution)
    db.session.flush()
    return contribution


@dataclass
class Built:
    consultation: Consultation
    public: dict[str, Contribution]
    left_out: dict[str, Contribution]
    blocked: User


def build(organisation, author, moderator) -> Built:
    """Two published versions; comments, a reply, annotations, an amendment accepted and
    incorporated, one not accepted, a statement, votes, a theme and a section summary citing
    contributions, a moderation log, and contributions hidden, deleted, pending, by a blocked
    and by an erased author."""
    casey, dana = make_user(name="Casey Citizen"), make_user(name="Dana Citizen")
    bob = make_user(name="Bob Blocked")
    c = make_consultation(organisation, author=author, state="open", slug="open-data")
    db.session.add(Block(organisation_id=organisation.id, user_id=bob.id, reason="Spam"))

    p: dict[str, Contribution] = {}
    p["general"] = say(c, casey, "=1+1 is how my spreadsheet would read this comment.")
    p["annotation"] = say(c, dana, "Which data, exactly?", section="purpose", quote="publishes open data")
    p["reply"] = say(c, casey, "Everything not personal, I hope.", kind="reply", parent=p["annotation"])
    p["erased"] = say(c, None, "Written by someone who later erased their account.", section="scope")
    p["edited"] = say(c, dana, "Contractors matter most.", section="scope", edited_at=utcnow())
    db.session.add(ContributionRevision(contribution=p["edited"], body="Contractors matter.", written_at=utcnow() - timedelta(minutes=5)))
    p["accepted"] = say(c, dana, "Cover arm's-length bodies too.", kind="amendment", section="scope")
    p["accepted"].amendment = Amendment(
        proposed_text="It applies to every department, to arm's-length bodies and to contractors working for them.",
        state=AmendmentState.ANSWERED,
        decision="accepted",
        answer="Agreed.",
        answered_at=utcnow(),
        answered_by_id=author.id,
    )
    p["refused"] = say(c, casey, "Shorter.", kind="amendment", section="purpose")
    p["refused"].amendment = Amendment(
        proposed_text="This policy is about open data.",
        state=AmendmentState.ANSWERED,
        decision="not_accepted",
        answer="We prefer the longer wording.",
        answered_at=utcnow(),
        answered_by_id=author.id,
    )
    p["statement"] = say(c, author, "Open data should be free of charge.", kind="statement")

    gone: dict[str, Contribution] = {}
    gone["hidden"] = say(
        c,
        casey,
        "HIDDEN-WORDS of an off-topic rant",
        section="scope",
        moderation_state="hidden",
        hidden_reason="Off topic.",
        hidden_at=utcnow(),
    )
    gone["deleted"] = say(c, dana, "DELETED-WORDS", section="purpose", quote="how the council", deleted_at=utcnow())
    gone["blocked"] = say(c, bob, "BLOCKED-WORDS, buy my product", kind="amendment", section="scope")
    gone["blocked"].amendment = Amendment(proposed_text="BLOCKED-WORDS everywhere.", state=AmendmentState.OPEN)
    gone["pending"] = say(c, casey, "PENDING-WORDS", moderation_state="pending")
    db.session.flush()

    voters = [casey, dana, author, moderator]
    for who, item, value in [
        (casey, "accepted", "support"),
        (author, "accepted", "support"),
        (moderator, "accepted", "oppose"),
        (dana, "refused", "abstain"),
        (casey, "statement", "agree"),
        (dana, "statement", "disagree"),
    ]:
        db.session.add(Vote(user_id=who.id, consultation_id=c.id, contribution_id=p[item].id, value=value))
    for who in voters:  # votes on what is left out are not counted
        db.session.add(Vote(user_id=who.id, consultation_id=c.id, contribution_id=gone["blocked"].id, value="support"))
    db.session.add(Vote(user_id=bob.id, consultation_id=c.id, contribution_id=p["accepted"].id, value="oppose"))
    db.session.add(Vote(user_id=casey.id, consultation_id=c.id, section_key="scope", value="support"))
    db.session.add(Vote(user_id=dana.id, consultation_id=c.id, section_key="scope", value="oppose"))
    for who in (casey, bob):  # the blocked co-supporter is left out
        db.session.add(AmendmentSupporter(amendment_id=p["accepted"].id, user_id=who.id))
    db.session.add(Report(contribution_id=gone["hidden"].id, reporter_id=dana.id, reason="off_topic"))
    db.session.add_all(
        [
            ModerationLogEntry(
                organisation_id=organisation.id,
                consultation_id=c.id,
                contribution_id=gone["hidden"].id,
                moderator_id=moderator.id,
                action="hide",
                rule="off_topic",
                reason="Off topic.",
            ),
            ModerationLogEntry(
                organisation_id=organisation.id,
                consultation_id=c.id,
                subject_id=bob.id,
                moderator_id=moderator.id,
                action="block",
                reason="Advertising.",
            ),
        ]
    )

    # Version 2: the accepted amendment applied and cited; a citation of the hidden comment too.
    amendments.start_next_version(c, actor=author)
    db.session.add(Citation(version=c.draft_version, section_key="scope", contribution=gone["hidden"]))
    db.session.flush()
    explain_changes(c, author)
    proposals.publish_version(c, actor=author, note="Arm's-length bodies are covered.")

    theme = Theme(consultation=c, name="Who is covered", summary=f"Many asked for more bodies [#{p['accepted'].id}].")
    summary = SectionSummary(consultation_id=c.id, section_key="purpose", summary=f"Which data? [#{p['annotation'].id}]")
    db.session.add_all([theme, summary])
    db.session.flush()
    for item in (p["accepted"], p["edited"], gone["hidden"], gone["blocked"]):
        db.session.add(ContributionTheme(theme_id=theme.id, contribution_id=item.id))
    db.session.add_all(
        [
            SummaryCitation(theme_id=theme.id, contribution_id=p["accepted"].id),
            SummaryCitation(theme_id=theme.id, contribution_id=gone["hidden"].id),
            SummaryCitation(section_summary_id=summary.id, contribution_id=p["annotation"].id),
        ]
    )
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    db.session.commit()
    return Built(c, p, gone, bob)


@dataclass
class Exported:
    folder: Path
    built: Built | None = None

    def text(self, name: str) -> str:
        return (self.folder / name).read_bytes().decode("utf-8")  # as written: CSV lines end in CRLF

    def json(self, name: str) -> dict:
        return json.loads(self.text(name))

    def csv(self, name: str) -> list[dict[str, str]]:
        with (self.folder / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def files(self) -> dict[str, str]:
        return {
            p.relative_to(self.folder).as_posix(): self.text(p.relative_to(self.folder).as_posix())
            for p in sorted(self.folder.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def record(app, tmp_path, monkeypatch, organisation, author, moderator) -> Exported:
    monkeypatch.setattr(export, "PAGE_SIZE", 3)  # several pages: the keyset paging must not skip or repeat rows
    built = build(organisation, author, moderator)
    with app.test_request_context(base_url=BASE):
        export.write_folder(built.consultation, tmp_path / "record")
    return Exported(tmp_path / "record", built)


def test_the_record_has_every_file(record):
    assert set(record.files()) == {
        "README.md",
        "record.json",
        "versions/1.md",
        "versions/2.md",
        "diffs/1-2.md",
        "annotations.jsonld",
        *CSV_FILES,
        "DATA-DICTIONARY.md",
        "schema/record.schema.json",
    }


def test_record_json_is_valid_and_holds_what_the_public_sees(record):
    doc = record.json("record.json")
    assert schema_errors(doc) == []
    p = record.built.public
    assert doc["consultation"]["slug"] == "open-data" and doc["consultation"]["state"] == "concluded"
    assert doc["licence"] == {
        "id": "CC-BY-4.0",
        "name": "Creative Commons Attribution 4.0",
        "url": "https://creativecommons.org/licenses/by/4.0/",
    }
    assert [v["number"] for v in doc["versions"]] == [1, 2]
    assert doc["versions"][1]["change_note"] == "Arm's-length bodies are covered."
    assert [s["key"] for s in doc["sections"] if s["version"] == 2] == ["purpose", "scope", "exceptions"]

    by_id = {c["id"]: c for c in doc["contributions"]}
    assert list(by_id) == sorted(c.id for c in p.values())
    assert by_id[p["reply"].id]["parent_id"] == p["annotation"].id
    assert by_id[p["erased"].id]["author"] == {"id": None, "name": "Former participant"}
    assert by_id[p["edited"].id]["revisions"][0]["body"] == "Contractors matter."
    anchors = by_id[p["annotation"].id]["anchors"]
    assert [(a["version"], a["state"], a["exact"]) for a in anchors] == [
        (1, "anchored", "publishes open data"),
        (2, "anchored", "publishes open data"),
    ]
    accepted = by_id[p["accepted"].id]["amendment"]
    assert accepted["state"] == "incorporated" and accepted["incorporated_in_version"] == 2
    assert accepted["co_supporters"] == ["Casey Citizen"]

    tallies = {t["contribution_id"]: t for t in doc["tallies"]["contributions"]}
    assert tallies == {
        p["accepted"].id: {"contribution_id": p["accepted"].id, "support": 2, "oppose": 2, "abstain": 0, "total": 4},
        p["refused"].id: {"contribution_id": p["refused"].id, "support": 0, "oppose": 0, "abstain": 1, "total": 1},
        p["statement"].id: {"contribution_id": p["statement"].id, "agree": 1, "disagree": 1, "pass": 0, "total": 2},
    }
    assert doc["tallies"]["sections"] == [{"section_key": "scope", "support": 1, "oppose": 1, "abstain": 0, "total": 2}]
    assert {(a["amendment_id"], a["decision"]) for a in doc["answers"]} == {
        (p["accepted"].id, "accepted"),
        (p["refused"].id, "not_accepted"),
    }
    assert [(c["version"], c["section_key"], c["contribution_id"]) for c in doc["citations"]] == [(2, "scope", p["accepted"].id)]
    (theme,) = doc["themes"]
    assert theme["name"] == "Who is covered"
    assert theme["contribution_ids"] == sorted([p["accepted"].id, p["edited"].id]) and theme["cites"] == [p["accepted"].id]
    assert [(s["section_key"], s["cites"]) for s in doc["section_summaries"]] == [("purpose", [p["annotation"].id])]
    assert [(e["action"], e["contribution_id"]) for e in doc["moderation_log"]] == [
        ("hide", record.built.left_out["hidden"].id),
        ("block", None),
    ]
    assert doc["moderation_log"][0]["reason"] == "Off topic."


def test_left_out_contributions_and_private_data_appear_in_no_file(record):
    left_out = record.built.left_out
    doc = record.json("record.json")
    gone = {c.id for c in left_out.values()}
    assert not gone & {c["id"] for c in doc["contributions"]}
    assert not gone & {t["contribution_id"] for t in doc["tallies"]["contributions"]}
    assert not gone & {c["contribution_id"] for c in doc["citations"]}
    assert not gone & {i for t in doc["themes"] for i in t["contribution_ids"] + t["cites"]}
    assert not gone & {int(row["id"]) for row in record.csv("contributions.csv")}
    assert not gone & {int(row["contribution_id"]) for row in record.csv("themes.csv")}
    emails = set(db.session.scalars(db.select(User.email)))
    for name, content in record.files().items():
        for secret in SECRETS:
            assert secret not in content, (name, secret)
        assert "Bob Blocked" not in content, name  # the blocked author, who voted and was logged
        assert not EMAIL.findall(content), (name, EMAIL.findall(content))
        assert not any(email in content for email in emails), name
    assert set(doc["moderation_log"][0]) == {"id", "created_at", "action", "rule", "reason", "contribution_id"}


def test_annotations_are_a_w3c_collection(record):
    doc = record.json("annotations.jsonld")
    assert must_failures(doc, "collection") == [], explain(doc, "collection")
    page = {"@context": ANNO_CONTEXT, **doc["first"]}
    assert must_failures(page, "page") == [], explain(page, "page")
    p = record.built.public
    assert doc["id"] == f"{BASE}/api/v1/consultations/open-data/annotations"
    assert doc["total"] == 2 and doc["rights"] == "https://creativecommons.org/licenses/by/4.0/"
    items = doc["first"]["items"]
    assert [i["id"] for i in items] == [f"{BASE}/comments/{p['annotation'].id}", f"{BASE}/comments/{p['reply'].id}"]
    assert items[0]["target"]["selector"]["refinedBy"][0]["exact"] == "publishes open data"
    assert items[1]["target"] == items[0]["id"] and items[1]["creator"]["nickname"] == "Casey Citizen"


def test_versions_are_markdown_and_diffs_redline_the_change(record):
    c = record.built.consultation
    assert record.text("versions/1.md") == proposals.draft_as_markdown(c.version(1))
    assert record.text("versions/1.md").startswith("## Purpose\n\nThis policy sets out how the council publishes open data.")
    assert "to arm's-length bodies and to contractors" in record.text("versions/2.md")
    diff = record.text("diffs/1-2.md")
    assert diff.startswith("# Open data policy: changes from version 1 to version 2\n")
    assert "Section `scope`: changed." in diff and "Section `purpose`: kept." in diff
    assert "It applies to every department{++, to arm's-length bodies++} and to contractors working for them." in diff
    accepted = record.built.public["accepted"].id
    assert f"Cites: [#{accepted}]({BASE}/amendments/{accepted})" in diff


def test_csv_files_parse_into_the_expected_rows(record):
    p = record.built.public
    contributions = record.csv("contributions.csv")
    assert [int(r["id"]) for r in contributions] == sorted(c.id for c in p.values())
    general = next(r for r in contributions if int(r["id"]) == p["general"].id)
    assert general["body"].startswith("'=1+1")  # not a formula in a spreadsheet
    assert next(r for r in contributions if int(r["id"]) == p["annotation"].id)["quote"] == "publishes open data"
    assert next(r for r in contributions if int(r["id"]) == p["erased"].id)["author"] == "Former participant"
    assert record.json("record.json")["contributions"][0]["body"].startswith("=1+1")  # exact in the JSON

    (accepted, refused) = record.csv("amendments.csv")
    assert (accepted["id"], accepted["state"], accepted["decision"], accepted["incorporated_in_version"]) == (
        str(p["accepted"].id),
        "incorporated",
        "accepted",
        "2",
    )
    assert (accepted["support"], accepted["oppose"], accepted["co_supporters"]) == ("2", "2", "1")
    assert (refused["decision"], refused["answer"], refused["abstain"]) == ("not_accepted", "We prefer the longer wording.", "1")

    tallies = record.csv("tallies.csv")
    assert [(r["contribution_id"], r["section_key"], r["total"]) for r in tallies] == [
        (str(p["accepted"].id), "", "4"),
        (str(p["refused"].id), "", "1"),
        (str(p["statement"].id), "", "2"),
        ("", "scope", "2"),
    ]
    assert len(record.csv("sections.csv")) == 6
    assert [(r["version"], r["contribution_id"]) for r in record.csv("citations.csv")] == [("2", str(p["accepted"].id))]
    assert [r["contribution_id"] for r in record.csv("themes.csv")] == sorted([str(p["accepted"].id), str(p["edited"].id)], key=int)
    assert [r["action"] for r in record.csv("moderation_log.csv")] == ["hide", "block"]


def test_no_file_starts_with_a_byte_order_mark(record):
    """A BOM ended up in the first column's name for Python's csv, pandas and R ("\\ufeffid"), and
    in front of the JSON for strict parsers; DATA-DICTIONARY.md tells Excel users how to open the
    files as UTF-8 instead."""
    for path in sorted(record.folder.rglob("*")):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
    for name in CSV_FILES:
        with (record.folder / name).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert header[0] in ("id", "contribution_id", "version", "theme_id", "kind", "questionnaire_version"), (name, header[0])


def test_readme_names_the_licence(record):
    readme = record.text("README.md")
    assert readme.startswith("# Open policy record: Open data policy\n")
    assert "**Creative Commons Attribution 4.0**" in readme and "`CC-BY-4.0`" in readme
    assert "https://creativecommons.org/licenses/by/4.0/" in readme


def test_the_download_is_a_zip_of_the_same_files(app, client, record):
    response = client.get("/c/open-data/record.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == "attachment; filename=open-data-record.zip"
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert set(files) == set(record.files())
    downloaded = json.loads(files["record.json"])
    assert schema_errors(downloaded) == []
    assert {**downloaded, "exported_at": None} == {**record.json("record.json"), "exported_at": None}
    for name in ("annotations.jsonld", "versions/2.md", "diffs/1-2.md", *CSV_FILES):
        assert files[name] == record.files()[name], name


def test_no_download_of_what_does_not_exist_or_is_a_draft(client, organisation, author):
    make_consultation(organisation, author=author, state="draft", slug="secret-draft")
    db.session.commit()
    for url in ("/c/nothing-here/record.zip", "/c/secret-draft/record.zip"):
        response = client.get(url)
        assert response.status_code == 404
        assert "No consultation with that address." in response.get_data(as_text=True)


def test_the_cli_writes_a_folder_or_a_zip_and_never_overwrites(app, tmp_path, monkeypatch, organisation, author, moderator):
    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # as on most sites: the address comes from --base-url
    build(organisation, author, moderator)
    runner = app.test_cli_runner()
    folder = tmp_path / "out"
    done = runner.invoke(args=["export", "open-data", str(folder), "--base-url", "https://consult.example"])
    assert done.exit_code == 0, done.output
    assert "Wrote the record of open-data (19 files)" in done.output  # 16, attachments.csv and the questionnaire's two CSV files
    doc = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    assert schema_errors(doc) == []
    assert doc["consultation"]["url"] == "https://consult.example/c/open-data"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary leftovers

    again = runner.invoke(args=["export", "open-data", str(folder), "--base-url", "https://consult.example"])
    assert again.exit_code != 0 and "already exists" in again.output

    # CONSULT_BASE_URL (the app's BASE_URL) serves when --base-url is not given
    monkeypatch.setitem(app.config, "BASE_URL", "https://consult.example")
    zipped = runner.invoke(args=["export", "open-data", str(tmp_path / "out.zip"), "--zip"])
    assert zipped.exit_code == 0, zipped.output
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert sorted(archive.namelist()) == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    missing = runner.invoke(args=["export", "no-such-thing", str(tmp_path / "x")])
    assert missing.exit_code != 0 and "No public consultation" in missing.output


@pytest.mark.parametrize("base_url", [None, ""])
def test_the_cli_refuses_to_export_without_the_sites_address_and_writes_nothing(app, tmp_path, monkeypatch, organisation, author, base_url):
    """Without CONSULT_BASE_URL or --base-url every link in the record pointed at http://localhost."""
    monkeypatch.setitem(app.config, "BASE_URL", base_url)
    make_consultation(organisation, author=author, state="open", slug="open-data")
    db.session.commit()
    runner = app.test_cli_runner()
    for args in (["export", "open-data", str(tmp_path / "out")], ["export", "open-data", str(tmp_path / "out.zip"), "--zip"]):
        refused = runner.invoke(args=args)
        assert refused.exit_code != 0
        assert "CONSULT_BASE_URL" in refused.output and "--base-url" in refused.output
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("base_url", ["consult.example", "ftp://consult.example", "https://", "javascript:alert(1)"])
def test_the_cli_refuses_a_base_url_that_is_not_a_web_address(app, tmp_path, organisation, author, base_url):
    make_consultation(organisation, author=author, state="open", slug="open-data")
    db.session.commit()
    refused = app.test_cli_runner().invoke(args=["export", "open-data", str(tmp_path / "out"), "--base-url", base_url])
    assert refused.exit_code != 0 and "http:// or https://" in refused.output
    assert list(tmp_path.iterdir()) == []


def test_the_demos_concluded_round_exports_valid_documented_and_without_email_addresses(app, tmp_path):
    from consult.demo import load_demo

    load_demo()
    c = db.session.scalar(db.select(Consultation).where(Consultation.slug == "federal-source-code-policy-2016"))
    db.session.commit()
    with app.test_request_context(base_url=BASE):
        export.write_folder(c, tmp_path / "demo")
    exported = Exported(tmp_path / "demo")
    doc = exported.json("record.json")
    assert schema_errors(doc) == []
    # against the schema it carries, and every field, value and column in its data dictionary
    from tests.record.test_record_bundle import bundled_schema_errors, undocumented

    assert bundled_schema_errors(exported) == []
    assert undocumented(exported) == []
    assert len(doc["versions"]) == 2 and doc["themes"] and doc["moderation_log"]
    annotations = exported.json("annotations.jsonld")
    assert must_failures(annotations, "collection") == [], explain(annotations, "collection")
    page = {"@context": ANNO_CONTEXT, **annotations["first"]}
    assert must_failures(page, "page") == [], explain(page, "page")

    # No email address at all: not the users' (demo accounts have real-looking ones), and not the
    # one the 2016 draft gave for comments by email (the demo leaves that page out, see consult.demo).
    users = set(db.session.scalars(db.select(User.email)))
    assert len(users) >= 6
    files = exported.files()
    assert {"record.json", "annotations.jsonld", "README.md", "versions/1.md", "versions/2.md", "diffs/1-2.md"} <= set(files)
    for name, content in files.items():
        assert EMAIL.findall(content) == [], name
        assert not any(email in content for email in users), name
        assert "Cheap software licences" not in content, name  # the spam comment the moderator hid


def test_write_json_pulls_generators_and_writes_valid_json():
    def rows():
        yield {"id": 1, "tags": iter([1, 2])}
        yield {"id": 2, "tags": iter([])}

    value = {"a": iter([]), "b": {"c": iter([{"x": "é"}]), "d": [1, {"e": None}]}, "rows": rows(), "n": 3, "empty": {}}
    out = io.StringIO()
    export.write_json(out, value)
    assert json.loads(out.getvalue()) == {
        "a": [],
        "b": {"c": [{"x": "é"}], "d": [1, {"e": None}]},
        "rows": [{"id": 1, "tags": [1, 2]}, {"id": 2, "tags": []}],
        "n": 3,
        "empty": {},
    }
    assert '"x": "é"' in out.getvalue()  # UTF-8, not \u escapes
    assert '\n      {"x": "é"}\n' in out.getvalue()  # one object per line


def test_downloading_the_record_too_often_answers_429_with_a_clear_message(tmp_path):
    from consult import create_app
    from tests.conftest import build_schema

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "x",
            "RECORD_RATE_LIMIT": "2 per minute",
            "SERVER_NAME": "consult.test",
            "JOBS_IMMEDIATE": True,
        }
    )
    build_schema(app)
    with app.app_context():
        make_consultation(state="open", slug="often")
        db.session.commit()
        client = app.test_client()
        codes = [client.get("/c/often/record.zip").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = client.get("/c/often/record.zip")
        assert refused.status_code == 429 and "downloads are limited" in refused.get_data(as_text=True)
        assert client.get("/c/often").status_code == 200  # reading is not limited
        db.session.remove()


def test_themes_and_summaries_wait_for_the_outcome(client, organisation, author, moderator):
    """Before the consultation is concluded they are the moderators' working notes: not in the
    record (as not on the outcome page or in search); afterwards they are."""
    from consult.moderation import services as moderation

    c = make_consultation(organisation, author=author, state="open", slug="notes")
    words = say(c, make_user(name="Nia"), "Some words", section=c.current_version.sections[0].key)
    theme = moderation.create_theme(c, actor=moderator, name="DRAFT-THEME")
    moderation.tag(theme, [words], actor=moderator)
    moderation.write_summary(c, actor=moderator, theme=theme, summary=f"DRAFT-SUMMARY [#{words.id}]")
    moderation.write_summary(c, actor=moderator, section_key=words.section_key, summary="DRAFT-SECTION-SUMMARY")
    db.session.commit()

    def record() -> tuple[dict, str]:
        with zipfile.ZipFile(io.BytesIO(client.get("/c/notes/record.zip").data)) as z:
            return json.loads(z.read("record.json")), z.read("themes.csv").decode("utf-8")

    doc, themes_csv = record()
    assert doc["themes"] == [] and doc["section_summaries"] == [] and "DRAFT" not in themes_csv
    assert schema_errors(doc) == []
    c.state = "concluded"
    db.session.commit()
    doc, themes_csv = record()
    assert [t["name"] for t in doc["themes"]] == ["DRAFT-THEME"] and doc["themes"][0]["cites"] == [words.id]
    assert doc["section_summaries"][0]["summary"] == "DRAFT-SECTION-SUMMARY" and "DRAFT-THEME" in themes_csv


HOSTILE_TITLE = "<script>alert(1)</script> *not bold* [x](javascript:alert(1))"


def _render_record_markdown(source: str) -> str:
    """A record's Markdown file as a CommonMark reader with CriticMarkup shows it (raw HTML
    allowed: not Consult's sanitising pipeline)."""
    from markdown_it import MarkdownIt

    critic = re.sub(r"(?<!\\)\{\+\+(.*?)(?<!\\)\+\+\}", r"<ins>\1</ins>", source, flags=re.S)
    critic = re.sub(r"(?<!\\)\{--(.*?)(?<!\\)--\}", r"<del>\1</del>", critic, flags=re.S)
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(critic)


def test_plain_text_in_the_markdown_files_comes_out_literally(app, tmp_path, author):
    """Titles, organisation names, headings, change notes and the words of a diff are text: a
    title like <script> or *not bold* or [x](javascript:...) was written into README.md and the
    diff as Markdown, so any reader of the files ran it, emphasised it or linked it."""
    from html.parser import HTMLParser

    from consult.proposals.importing import split_markdown
    from tests.factories import make_organisation

    organisation = make_organisation(name="<b>Org</b> _of_ [Things](javascript:x)")
    actor = make_user(role="author", organisation=organisation)
    c = make_consultation(
        organisation,
        author=actor,
        title=HOSTILE_TITLE,
        slug="hostile",
        text="## \\<img src=x onerror=alert(1)\\> \\*not bold\\*\n\nUse `<script>` tags carefully.\n\n## Plain\n\nNothing here.\n",
    )
    proposals.save_draft_text(
        c,
        split_markdown(
            "## \\<img src=x onerror=alert(1)\\> \\*not bold\\*\n\nUse `<script>` and `[y](javascript:y)` tags carefully.\n\n"
            "## Plain\n\nNothing here.\n"
        ),
        actor=actor,
    )
    explain_changes(c, actor)
    proposals.publish_version(c, actor=actor, note="**Changed** <i>this</i>\n# and [that](javascript:z)\n- item")
    db.session.commit()
    with app.test_request_context(base_url=BASE):
        export.write_folder(c, tmp_path / "hostile")
    exported = Exported(tmp_path / "hostile")

    class Shown(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tags, self.hrefs, self.text = set(), [], []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.hrefs += [value for name, value in attrs if name == "href"]

        def handle_endtag(self, tag):
            self.text.append(" ")

        def handle_data(self, data):
            self.text.append(data)

    heading = "<img src=x onerror=alert(1)> *not bold*"
    expected = {
        "README.md": [HOSTILE_TITLE, organisation.name],
        "diffs/1-2.md": [
            HOSTILE_TITLE,
            heading,
            "<script>",
            "[y](javascript:y)",
            "**Changed** <i>this</i> # and [that](javascript:z) - item",
        ],
        "versions/1.md": [heading],
        "versions/2.md": [heading],
    }
    for name, literal in expected.items():
        shown = Shown()
        shown.feed(_render_record_markdown(exported.text(name)))
        text = " ".join("".join(shown.text).split())
        assert not shown.tags & {"script", "img", "b", "i", "em"}, (name, shown.tags)
        assert all(href.startswith((BASE, "https://")) or ":" not in href for href in shown.hrefs), (name, shown.hrefs)
        for words in literal:
            assert words in text, (name, words, text)
    # versions/N.md imports back: the same headings, literal characters and all
    for version in c.versions:
        reread = split_markdown(exported.text(f"versions/{version.number}.md"))
        assert [(s.heading, s.body) for s in reread] == [(s.heading, s.body) for s in version.sections]
    assert c.version(1).sections[0].heading == heading
