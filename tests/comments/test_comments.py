"""Comments, replies and annotations: posting, threads, editing, deleting, highlights, export."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.comments import services
from consult.comments.models import Anchor
from consult.comments.w3c import HTML_FRAGMENT_SPEC
from consult.contributions.models import Contribution, ContributionRevision
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.permissions import PermissionDenied
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from tests.conftest import login
from tests.factories import explain_changes, make_consultation, make_user
from tests.w3c_validation import explain, must_failures

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request. Small councils may ask for *one* extension.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- posting ------------------------------------------------------------------------------


def test_a_citizen_annotates_words_of_a_section(client, consultation, citizen):
    login(client, citizen)
    section = consultation.current_version.section("deadlines")
    text = services.anchor_text(section)
    start = text.index("within 30 days")
    response = client.post(
        "/c/access/comments",
        data={
            "section_key": "deadlines",
            "quote": "within 30 days",
            "start": start,
            "end": start + 14,
            "body": "Too short for small councils.",
        },
    )
    assert response.status_code == 302 and "/c/access/s/deadlines" in response.headers["Location"]
    comment = db.session.scalar(select(Contribution))
    anchor = comment.anchor
    assert (anchor.section_key, anchor.start, anchor.end, anchor.exact) == ("deadlines", start, start + 14, "within 30 days")
    assert anchor.prefix == text[max(0, start - 32) : start] and anchor.suffix == text[start + 14 : start + 46]
    # drawn server-side, on the reading page and the section page, linking to the thread
    for url in ("/c/access", "/c/access/s/deadlines"):
        html = client.get(url).get_data(as_text=True)
        assert re.search(r'<mark class="annotation"[^>]*>within 30 days</mark>', html), url
        assert f'href="/comments/{comment.id}"' in html
    assert "Too short for small councils." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_quote_field_alone_finds_the_words_without_offsets(client, consultation, citizen):
    """Keyboard and screen-reader users (and browsers without JavaScript) type or paste the quote."""
    login(client, citizen)
    response = client.post(
        "/c/access/comments", data={"section_key": "deadlines", "quote": "  one\n   extension ", "body": "Why only one?"}
    )
    assert response.status_code == 302
    anchor = db.session.scalar(select(Anchor))
    assert anchor.exact == "one extension"  # the emphasis markup is not part of the text


def test_wrong_offsets_are_corrected_by_the_quote(consultation, citizen):
    comment = services.post_comment(consultation, actor=citizen, body="x", section_key="deadlines", quote="30 days", start=0, end=7)
    text = services.anchor_text(consultation.current_version.section("deadlines"))
    assert comment.anchor.start == text.index("30 days")


def test_a_quote_not_in_the_section_is_refused_with_a_clear_message(client, consultation, citizen):
    login(client, citizen)
    response = client.post("/c/access/comments", data={"section_key": "deadlines", "quote": "within 60 days", "body": "Hmm, *this*."})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The words you quoted are not in the section “Deadlines”" in page
    # the form comes back with the message on the quote field and the comment kept
    assert 'id="quote-error"' in page and 'aria-invalid="true"' in page
    assert "Hmm, *this*.</textarea>" in page
    assert count(Contribution) == 0
    # words from another section are not in this one either
    response = client.post("/c/access/comments", data={"section_key": "deadlines", "quote": "first hour", "body": "Hmm."})
    assert response.status_code == 400 and count(Contribution) == 0


def test_posting_on_a_closed_consultation_is_refused(client, organisation, author, citizen):
    closed = make_consultation(organisation, author=author, state="closed", slug="closed-one", text=TEXT)
    db.session.commit()
    login(client, citizen)
    response = client.post("/c/closed-one/comments", data={"section_key": "deadlines", "body": "Late!"})
    assert response.status_code == 403
    assert count(Contribution) == 0
    page = client.get("/c/closed-one/s/deadlines").get_data(as_text=True)
    assert "no longer comment" in page and 'name="body"' not in page
    with pytest.raises(PermissionDenied):
        services.post_comment(closed, actor=citizen, body="Late!")


def test_posting_after_the_closing_date_is_refused_even_before_the_schedule_runs(consultation, citizen):
    consultation.closes_at = utcnow() - timedelta(seconds=1)
    with pytest.raises((PermissionDenied, RuleViolation)):
        services.post_comment(consultation, actor=citizen, body="Just in time?")


def test_anonymous_visitors_read_but_must_sign_in_to_comment(client, consultation, citizen):
    services.post_comment(consultation, actor=citizen, body="Readable by all.", section_key="fees")
    db.session.commit()
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "Readable by all." in page and "create an account</a> or" in page and "sign in</a>" in page
    response = client.post("/c/access/comments", data={"section_key": "fees", "body": "x"})
    assert response.status_code == 302 and "/signin" in response.headers["Location"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"body": ""}, "Write something before posting."),
        ({"body": "x" * 5001}, "at most 5,000 characters"),
        ({"body": "ok", "section_key": "no-such-section"}, "not in the current version"),
        ({"body": "ok", "section_key": "deadlines", "quote": "q" * 2001}, "Quote at most 2,000 characters"),
        ({"body": "ok", "section_key": "deadlines", "start": "-4"}, "must be a number from 0 to 100,000"),
    ],
)
def test_bad_comments_are_refused_and_nothing_stored(client, consultation, citizen, data, message):
    login(client, citizen)
    response = client.post("/c/access/comments", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(Contribution) == 0
    # Without JavaScript the browser lands on the form, and the title says first that it failed.
    html = response.get_data(as_text=True)
    assert "<title>Error: " in html
    if data.get("section_key") != "no-such-section":  # (that one is an error page: there is no form to show)
        assert 'action="/c/access/comments#comment-form"' in html


def test_hostile_markdown_in_a_comment_is_neutralised(client, consultation, citizen):
    login(client, citizen)
    body = '<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=alert(3)>\n\n**bold**'
    assert client.post("/c/access/comments", data={"section_key": "fees", "body": body}).status_code == 302
    html = client.get("/c/access/s/fees").get_data(as_text=True)
    main = html.split('id="comments"', 1)[1]
    assert "<script>alert" not in main and "onerror" not in main and 'href="javascript' not in main
    assert "<strong>bold</strong>" in main


# ---- threads ------------------------------------------------------------------------------


def test_replies_nest_three_levels_then_flatten_with_in_reply_to(client, consultation, citizen):
    other = make_user(name="Rita Replier")
    root = services.post_comment(consultation, actor=citizen, body="Level one", section_key="fees")
    parent = root
    chain = []
    for n in range(2, 6):
        parent = services.post_comment(consultation, actor=other if n % 2 == 0 else citizen, body=f"Level {n}", parent=parent)
        chain.append(parent)
    db.session.commit()
    [thread] = services.build_threads([root], None)
    level2 = thread.children[0]
    level3 = level2.children[0]
    assert [n.contribution.body for n in level3.children] == []  # deeper replies are not nested further
    assert [n.contribution.body for n in level2.children] == ["Level 3", "Level 4", "Level 5"]
    assert level2.children[1].in_reply_to == chain[1] and level2.children[2].in_reply_to == chain[2]
    html = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "In reply to Rita Replier" in html and "In reply to Casey Citizen" in html
    assert all(c.thread_id == root.id for c in chain)


def test_reply_through_the_reply_page(client, consultation, citizen):
    root = services.post_comment(consultation, actor=citizen, body="Root", section_key="fees")
    db.session.commit()
    login(client, citizen)
    assert client.get(f"/comments/{root.id}/reply").status_code == 200
    response = client.post(f"/comments/{root.id}/reply", data={"body": "A reply", "parent_id": root.id})
    assert response.status_code == 302
    reply = db.session.scalar(select(Contribution).where(Contribution.parent_id == root.id))
    assert reply.kind == "reply" and reply.section_key == "fees" and f"#comment-{reply.id}" in response.headers["Location"]


def test_a_long_thread_pages_and_counts_from_the_database(client, consultation, citizen):
    for n in range(45):
        services.post_comment(consultation, actor=citizen, body=f"Comment number {n}", section_key="fees")
    db.session.commit()
    first = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "45 comments" in first and "Comment number 44" in first and "Comment number 24" not in first
    assert 'rel="next"' in first
    third = client.get("/c/access/s/fees?page=3").get_data(as_text=True)
    assert "Comment number 0" in third and "Comment number 5" not in third
    assert client.get("/c/access/s/fees?page=x").status_code == 400
    reading = client.get("/c/access").get_data(as_text=True)
    assert "45 comments" in reading


# ---- editing and deleting -----------------------------------------------------------------


def test_authors_edit_within_15_minutes_and_the_earlier_text_is_kept(client, consultation, citizen):
    comment = services.post_comment(consultation, actor=citizen, body="Frist thought", section_key="fees")
    db.session.commit()
    login(client, citizen)
    assert client.post(f"/comments/{comment.id}/edit", data={"body": "First thought"}).status_code == 302
    db.session.refresh(comment)
    assert comment.body == "First thought" and comment.edited_at is not None
    assert [r.body for r in comment.revisions] == ["Frist thought"]
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "(edited)" in page and "Frist thought" in page  # the earlier text stays readable

    comment.created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    response = client.post(f"/comments/{comment.id}/edit", data={"body": "Rewriting history"})
    assert response.status_code == 403
    db.session.refresh(comment)
    assert comment.body == "First thought"


def test_editing_or_deleting_another_persons_comment_is_refused(app, consultation, citizen):
    comment = services.post_comment(consultation, actor=citizen, body="Mine", section_key="fees")
    db.session.commit()
    intruder = make_user(name="Ivan Intruder")
    db.session.commit()
    client = app.test_client()
    login(client, intruder)
    assert client.get(f"/comments/{comment.id}/edit").status_code == 403
    assert client.post(f"/comments/{comment.id}/edit", data={"body": "Not yours"}).status_code == 403
    assert client.get(f"/comments/{comment.id}/delete").status_code == 403
    assert client.post(f"/comments/{comment.id}/delete").status_code == 403
    db.session.refresh(comment)
    assert comment.body == "Mine" and comment.deleted_at is None and count(ContributionRevision) == 0


def test_deleting_a_comment_without_replies_removes_it(client, consultation, citizen):
    comment = services.post_comment(consultation, actor=citizen, body="Oops", section_key="deadlines", quote="30 days")
    db.session.commit()
    login(client, citizen)
    # The comment's "Delete" is a link to a page that asks first; nothing is deleted until its form is sent.
    assert f'href="/comments/{comment.id}/delete"' in client.get("/c/access/s/deadlines").get_data(as_text=True)
    asking = client.get(f"/comments/{comment.id}/delete")
    assert asking.status_code == 200 and "Delete your comment?" in asking.get_data(as_text=True) and "Oops" in asking.get_data(as_text=True)
    assert count(Contribution) == 1
    assert client.post(f"/comments/{comment.id}/delete").status_code == 302
    assert count(Contribution) == 0 and count(Anchor) == 0


def test_deleting_a_comment_with_replies_leaves_a_tombstone(client, consultation, citizen):
    comment = services.post_comment(consultation, actor=citizen, body="Regrettable words", section_key="fees")
    services.post_comment(consultation, actor=make_user(name="Rita Replier"), body="I disagree", parent=comment)
    db.session.commit()
    login(client, citizen)
    assert client.post(f"/comments/{comment.id}/delete").status_code == 302
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "deleted by its author" in page and "Regrettable words" not in page and "I disagree" in page
    assert "1 comment" in page  # the tombstone is not counted
    assert client.get(f"/comments/{comment.id}/edit").status_code == 403


# ---- versions: highlights stay on their version, re-anchored on the next ------------------


def test_publishing_a_new_version_reanchors_annotations(client, consultation, author, citizen):
    kept = services.post_comment(consultation, actor=citizen, body="Good", section_key="fees", quote="first hour")
    gone = services.post_comment(consultation, actor=citizen, body="Too short", section_key="deadlines", quote="within 30 days")
    proposals.write_markdown(consultation, TEXT.replace("within 30 days of receipt", "promptly after receipt"), actor=author)
    explain_changes(consultation, author)
    v2 = proposals.publish_version(consultation, actor=author, note="Deadline rewritten.")
    db.session.commit()
    placement = {c.id: services.anchor_on(c, v2) for c in (kept, gone)}
    assert placement[kept.id].state == "anchored" and placement[kept.id].exact == "first hour"
    assert placement[gone.id].state in ("changed", "orphaned")
    v1_html = client.get("/c/access/v/1").get_data(as_text=True)
    assert re.search(r'<mark class="annotation"[^>]*>within 30 days</mark>', v1_html)  # where it was written
    v2_html = client.get("/c/access").get_data(as_text=True)
    assert re.search(r'<mark class="annotation"[^>]*>first hour</mark>', v2_html)
    assert "within 30 days</mark>" not in v2_html


def test_an_orphaned_annotation_is_marked_as_orphaned_on_the_new_versions_section_page(client, consultation, author, citizen):
    kept = services.post_comment(consultation, actor=citizen, body="Too long", section_key="deadlines", quote="within 30 days")
    gone = services.post_comment(consultation, actor=citizen, body="Why one?", section_key="deadlines", quote="may ask for one extension")
    proposals.write_markdown(consultation, TEXT.replace(" Small councils may ask for *one* extension.", ""), actor=author)
    explain_changes(consultation, author)
    v2 = proposals.publish_version(consultation, actor=author, note="No extensions.")
    db.session.commit()
    assert (services.anchor_on(kept, v2).state, services.anchor_on(gone, v2).state) == ("anchored", "orphaned")
    page = client.get("/c/access/s/deadlines").get_data(as_text=True)
    card = page[page.index(f'id="comment-{gone.id}"') :].split("</article>")[0]
    assert "The passage this quoted is no longer in version 2." in card
    assert '<span class="visually-hidden">It quoted, in version 1: </span>may ask for one extension</blockquote>' in card
    assert "Quoting: " not in card  # not presented as words of the text on the page
    kept_card = page[page.index(f'id="comment-{kept.id}"') :].split("</article>")[0]
    assert '<span class="visually-hidden">Quoting: </span>within 30 days</blockquote>' in kept_card
    assert "no longer in version" not in kept_card


def test_the_thread_of_a_section_the_new_version_dropped_stays_readable(client, consultation, author, citizen):
    """The annotation's own address (and the reading page's list of orphaned annotations, which
    links to it) leads to its thread, which says the section is gone, instead of a 404."""
    gone = services.post_comment(consultation, actor=citizen, body="Fees are fine", section_key="fees", quote="first hour")
    proposals.write_markdown(consultation, TEXT[: TEXT.index("## Fees")], actor=author)
    explain_changes(consultation, author)
    proposals.publish_version(consultation, actor=author, note="No fees section.")
    db.session.commit()
    address = client.get(f"/comments/{gone.id}")
    assert address.status_code == 302 and address.headers["Location"].startswith("/c/access/s/fees")
    page = client.get("/c/access/s/fees")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "This section is not in version 2 of the text." in html and 'href="/c/access/v/1#s-fees"' in html
    assert "Fees are fine" in html and "The passage this quoted is no longer in version 2." in html
    assert 'id="comment-form"' not in html  # nothing to comment on any more
    assert client.get("/c/access/s/never-was").status_code == 404


def test_the_outcome_page_marks_annotations_whose_passage_is_gone(client, consultation, author, citizen):
    gone = services.post_comment(consultation, actor=citizen, body="Too short", section_key="deadlines", quote="within 30 days")
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    proposals.write_markdown(consultation, TEXT.replace("within 30 days of receipt", "promptly after receipt"), actor=author)
    explain_changes(consultation, author)
    proposals.publish_version(consultation, actor=author, note="Faster.")
    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.commit()
    page = client.get("/c/access/outcome").get_data(as_text=True)
    assert "Comments on passages no longer in version 2" in page
    assert f'<a href="/comments/{gone.id}">Comment #{gone.id}</a>: the passage this quoted is no longer in version 2.' in page
    assert "It quoted, in version 1: “within 30 days”" in page


def test_comments_on_a_draft_consultation_are_invisible(client, draft_consultation, citizen):
    assert client.get("/c/secret-draft/comments").status_code == 404
    assert client.get("/api/v1/consultations/secret-draft/annotations").status_code == 404


# ---- W3C export ----------------------------------------------------------------------------


def test_the_annotation_export_validates_against_the_w3c_schemas(client, consultation, citizen):
    annotation = services.post_comment(consultation, actor=citizen, body="Too *short*", section_key="deadlines", quote="within 30 days")
    services.post_comment(consultation, actor=make_user(name="Rita"), body="Agreed", parent=annotation)
    services.post_comment(consultation, actor=citizen, body="Not an annotation", section_key="fees")
    db.session.commit()
    collection = client.get("/api/v1/consultations/access/annotations")
    assert collection.status_code == 200 and collection.mimetype == "application/ld+json"
    data = collection.get_json()
    assert data["total"] == 2 and must_failures(data, "collection") == []
    page = client.get(data["first"].replace("http://consult.test", "")).get_json()
    assert must_failures(page, "page") == []
    first, reply = page["items"]
    assert first["motivation"] == "commenting" and reply["motivation"] == "replying" and reply["target"] == first["id"]
    selector = first["target"]["selector"]
    assert selector["value"] == "t-deadlines"
    quote, position = selector["refinedBy"]
    text = services.anchor_text(consultation.current_version.section("deadlines"))
    assert text[position["start"] : position["end"]] == quote["exact"] == "within 30 days"
    assert "email" not in str(page).lower() or "@" not in str(page)
    assert client.get("/api/v1/consultations/access/annotations?page=9").status_code == 400


def test_replies_to_a_deleted_annotation_stay_in_the_export_under_its_tombstone(client, consultation, citizen):
    annotation = services.post_comment(
        consultation, actor=citizen, body="Regrettable words", section_key="deadlines", quote="within 30 days"
    )
    rita = make_user(name="Rita Replier")
    reply = services.post_comment(consultation, actor=rita, body="I disagree", parent=annotation)
    services.post_comment(consultation, actor=citizen, body="And a reply to the reply", parent=reply)
    services.delete_comment(annotation, actor=citizen)
    db.session.commit()
    data = client.get("/api/v1/consultations/access/annotations").get_json()
    assert data["total"] == 3 and must_failures(data, "collection") == []
    page = client.get(data["first"].replace("http://consult.test", "")).get_json()
    assert must_failures(page, "page") == [], explain(page, "page")
    tombstone, first, second = page["items"]
    # As the site shows it: the thread stays, the deleted words and their author do not.
    assert tombstone["id"].endswith(f"/comments/{annotation.id}") and "creator" not in tombstone
    assert tombstone["body"]["value"] == "This comment was deleted by its author."
    assert tombstone["target"]["selector"] == {"type": "FragmentSelector", "conformsTo": HTML_FRAGMENT_SPEC, "value": "t-deadlines"}
    assert "Regrettable" not in str(page) and "within 30 days" not in str(page)
    assert first["target"] == tombstone["id"] and first["creator"]["nickname"] == "Rita Replier"
    assert second["target"] == first["id"] and second["body"]["value"] == "And a reply to the reply"
    thread = client.get("/c/access/s/deadlines").get_data(as_text=True)
    assert "deleted by its author" in thread and "I disagree" in thread and "Regrettable" not in thread


def test_the_real_policy_reanchored_when_the_final_version_is_published(client, organisation, author, citizen):
    """Annotations on chosen quotes of the Federal Source Code Policy draft, posted as readers
    post them, end in the expected state and section once the final policy is published, and
    stay where they were written on the draft."""
    from consult.demo import policy_files
    from tests.comments.test_anchoring import REAL_QUOTES

    c = proposals.create_consultation(
        organisation,
        actor=author,
        slug="fscp",
        title="Federal Source Code Policy",
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=30),
    )
    proposals.import_markdown(c, policy_files("v1-draft-2016-04"), actor=author)
    v1 = proposals.publish_version(c, actor=author)
    proposals.change_state(c, Transition.OPEN, actor=author)
    annotations = [
        services.post_comment(c, actor=citizen, body=f"On “{q.quote[:30]}”", section_key=q.key, quote=q.quote) for q in REAL_QUOTES
    ]
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.import_markdown(c, policy_files("v2-final-2016-08"), actor=author)
    explain_changes(c, author)
    v2 = proposals.publish_version(c, actor=author, note="Final policy, M-16-21.")
    db.session.commit()

    for real, annotation in zip(REAL_QUOTES, annotations, strict=True):
        written, placed = services.anchor_on(annotation, v1), services.anchor_on(annotation, v2)
        where = f"{real.quote[:50]!r}"
        assert (written.state, written.section_key, written.exact) == ("anchored", real.key, real.quote), where
        assert (placed.state, placed.section_key) == (real.state.value, real.new_key), where
        if real.new_key:
            text = services.anchor_text(v2.section(real.new_key))
            assert text[placed.start : placed.end] == placed.exact, where
            assert (real.new_words or real.quote) in " ".join(placed.exact.split()), where

    final_page = client.get("/c/fscp").get_data(as_text=True)
    assert final_page.count('<mark class="annotation') >= len([q for q in REAL_QUOTES if q.new_key])
    assert "Comments on words no longer in version 2" in final_page
    assert "The public comment period will last 30 days" in final_page  # the orphaned quote, listed
    assert "(the wording has changed since)" in final_page and "(moved here from another section)" in final_page
    draft_page = client.get("/c/fscp/v/1").get_data(as_text=True)
    assert draft_page.count('<mark class="annotation') >= len(REAL_QUOTES)
    assert "no longer in version" not in draft_page


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["\u00b2", "99999999999999999999"])  # "²" passes str.isdigit(), int() refuses it
def test_a_page_number_that_is_not_a_whole_number_in_range_is_a_400(client, consultation, page):
    for path in ("/c/access/s/fees", "/c/access/comments"):
        response = client.get(path, query_string={"page": page})
        assert response.status_code == 400 and "page number" in response.get_data(as_text=True)


def test_offsets_of_the_selected_words_that_are_not_whole_numbers_are_left_out(client, consultation, citizen):
    login(client, citizen)
    page = client.get("/c/access/s/fees", query_string={"quote": "first hour", "start": "\u00b2", "end": "99999999999999999999"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "first hour</textarea>" in html
    assert re.search(r'<input[^>]*name="start"[^>]*value=""', html) and re.search(r'<input[^>]*name="end"[^>]*value=""', html)
    kept = client.get("/c/access/s/fees", query_string={"quote": "first hour", "start": "4", "end": "14"}).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="start"[^>]*value="4"', kept)
