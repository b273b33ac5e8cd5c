"""The editors' preview (nothing saved) and images in Markdown (never dropped silently)."""

from __future__ import annotations

import io

import pytest

from consult.core.models import db
from consult.core.text import markdown_images, render_markdown
from consult.proposals.importing import images_not_kept
from tests.factories import login, make_consultation

TEXT = "## Scope\n\nThis policy applies to *every* council.\n\n## Fees\n\nNo fee for the first hour.\n"
WITH_IMAGES = (
    "## Scope\n\nSee the chart: ![Requests per year, 2010 to 2020](https://stats.example.org/chart.png)\n\n"
    '<img title="Process diagram" src="/assets/diagram.jpg" />\n\n## Fees\n\n![](pixel.gif) No fee.\n'
)


@pytest.fixture
def draft(organisation, author):
    return make_consultation(
        organisation, author=author, state="draft", slug="draft-policy", title="Draft policy", text=TEXT, publish=False
    )


def test_preview_of_the_text_renders_it_and_saves_nothing(client, author, draft):
    login(client, author)
    before = [(s.key, s.body) for s in draft.draft_version.sections]
    typed = "## Scope\n\nThis policy applies to **some** councils.\n\n## Appeals\n\n<script>alert(1)</script>Appeal within 30 days.\n"
    response = client.post(f"/c/{draft.slug}/text", data={"write-source": typed, "write-preview": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing is saved yet" in html and "<strong>some</strong>" in html and '<h3 id="preview-2">Appeals</h3>' in html
    assert "<script>alert(1)</script>" not in html  # sanitised as the saved text would be
    assert "**some** councils" in html  # the form keeps what was typed
    db.session.expire_all()
    assert [(s.key, s.body) for s in draft.draft_version.sections] == before


def test_preview_of_an_empty_text_is_refused_on_the_form(client, author, draft):
    login(client, author)
    response = client.post(f"/c/{draft.slug}/text", data={"write-source": "", "write-preview": "y"})
    assert response.status_code == 400 and "Write the text" in response.get_data(as_text=True)


def test_preview_of_the_summary_saves_nothing(client, author, draft):
    login(client, author)
    form = {
        "title": "Draft policy",
        "summary": "We want to hear **your** views.",
        "licence": draft.licence,
        "response_threshold": "10",
        "row_version": str(draft.row_version),
        "preview": "y",
    }
    response = client.post(f"/c/{draft.slug}/edit", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview of the summary" in html and "<strong>your</strong>" in html
    db.session.expire_all()
    assert draft.summary == "What we want to hear."
    saved = client.post(f"/c/{draft.slug}/edit", data={k: v for k, v in form.items() if k != "preview"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert draft.summary == "We want to hear **your** views."


def test_new_consultation_preview_creates_nothing(client, author, organisation):
    from sqlalchemy import func, select

    from consult.proposals.models import Consultation

    login(client, author)
    before = db.session.scalar(select(func.count()).select_from(Consultation))
    response = client.post(
        "/consultations/new",
        data={
            "organisation_id": str(organisation.id),
            "title": "New one",
            "summary": "_Hello_",
            "licence": "CC-BY-4.0",
            "response_threshold": "10",
            "preview": "y",
        },
    )
    assert response.status_code == 200 and "<em>Hello</em>" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == before


# ---- images -------------------------------------------------------------------------------


def test_every_image_is_found_and_named():
    found = markdown_images(WITH_IMAGES)
    assert [(i.description, i.src, i.line) for i in found] == [
        ("Requests per year, 2010 to 2020", "https://stats.example.org/chart.png", 3),
        ("Process diagram", "/assets/diagram.jpg", 5),
        ("", "pixel.gif", 9),
    ]
    assert (
        images_not_kept([("intro.md", WITH_IMAGES)])[0]
        == "“Requests per year, 2010 to 2020” (https://stats.example.org/chart.png, line 3 of intro.md)"
    )
    assert "an image without a description (pixel.gif, line 9 of intro.md)" in images_not_kept([("intro.md", WITH_IMAGES)])


def test_a_markdown_image_is_shown_as_its_description_never_as_an_image():
    rendered = str(render_markdown("See ![Requests *per* year](https://tracker.example/chart.png) here."))
    assert "<img" not in rendered and "tracker.example" not in rendered
    assert rendered == "<p>See Requests per year here.</p>\n"


def test_importing_images_says_which_were_not_kept(client, author, draft):
    login(client, author)
    files = {"import-files": [(io.BytesIO(WITH_IMAGES.encode()), "01-intro.md")]}
    response = client.post(f"/c/{draft.slug}/text", data=files, content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "3 images were not kept" in html
    assert "“Requests per year, 2010 to 2020” (https://stats.example.org/chart.png, line 3 of 01-intro.md)" in html
    assert "“Process diagram” (/assets/diagram.jpg, line 5 of 01-intro.md)" in html
    db.session.expire_all()
    scope = draft.draft_version.sections[0]
    assert "Requests per year, 2010 to 2020" in scope.text  # its description kept as text


def test_writing_images_says_so_and_the_preview_lists_them(client, author, draft):
    login(client, author)
    preview = client.post(f"/c/{draft.slug}/text", data={"write-source": WITH_IMAGES, "write-preview": "y"}).get_data(as_text=True)
    assert "3 images are not kept" in preview and "“Process diagram” (/assets/diagram.jpg, line 5)" in preview
    saved = client.post(f"/c/{draft.slug}/text", data={"write-source": WITH_IMAGES}, follow_redirects=True).get_data(as_text=True)
    assert "3 images were not kept" in saved


def test_a_text_without_images_says_nothing_of_them(client, author, draft):
    login(client, author)
    saved = client.post(f"/c/{draft.slug}/text", data={"write-source": TEXT}, follow_redirects=True).get_data(as_text=True)
    assert "not kept" not in saved
