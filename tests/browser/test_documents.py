"""Word documents and attachments in a real browser (issue 21): an author starts a consultation,
brings in a .docx, previews its sections (with its image), saves and publishes it, attaches a
PDF; axe-core on every new page at 1280 and 390 px. Writes only to a consultation of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.attachments.conftest import pdf_bytes, png_bytes
from tests.browser.conftest import DESKTOP, REPO, format_violations, sign_in
from tests.proposals.docx_fixture import markdown_files_to_docx

AUTHOR = "author@demo.consult.example"
PHONE_390 = {"width": 390, "height": 844}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = (
    "## Purpose\n\nThis policy makes **custom code** reusable across agencies.\n\n"
    "## Scope\n\n- new custom code\n- code paid for by the Government\n\n"
    "| Year | Projects |\n| --- | --- |\n| 2016 | 12 |\n| 2017 | 30 |\n"
)


@pytest.fixture
def shots(screenshot_dir) -> Path:
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def axe_clean(page, run_axe, failures: list[str], where: str) -> None:
    violations = run_axe(page)
    if violations:
        failures.append(format_violations(violations, where))


def test_an_author_brings_in_a_word_document_previews_publishes_and_attaches_a_pdf(new_context, live_server, run_axe, shots):
    page = new_context(viewport=DESKTOP, bypass_csp=True).new_page()  # bypass_csp: axe-core is injected
    sign_in(page, live_server, AUTHOR)
    page.goto(f"{live_server}/consultations/new")
    page.get_by_label("Title").fill("Code reuse, from a Word draft")
    page.get_by_role("button", name="Create the draft").click()
    expect(page).to_have_url(re.compile(r"/c/code-reuse-from-a-word-draft/text$"))
    slug = "code-reuse-from-a-word-draft"

    docx = markdown_files_to_docx([("", TEXT)], image=png_bytes())
    page.get_by_label("Word document (.docx)").set_input_files({"name": "Code reuse.docx", "mimeType": DOCX, "buffer": docx})
    page.get_by_role("button", name="Convert and preview").click()
    expect(page.get_by_role("heading", name="The Word document is converted")).to_be_visible()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.get_by_role("heading", name="Purpose", level=3)).to_be_visible()
    expect(preview.get_by_role("heading", name="Scope", level=3)).to_be_visible()
    expect(preview.locator("table td", has_text="30")).to_be_visible()
    expect(preview.locator("img")).to_have_count(1)
    assert preview.locator("img").evaluate("img => img.complete && img.naturalWidth > 0"), "the stored image is served"
    expect(page.get_by_label("Policy text (Markdown)")).to_have_value(re.compile(r"\| 2017 \| 30 \|"))
    failures: list[str] = []
    for viewport in (DESKTOP, PHONE_390):
        page.set_viewport_size(viewport)
        axe_clean(page, run_axe, failures, f"/c/{slug}/text (Word preview, {viewport['width']} px)")
    shots.joinpath("documents-word-preview.png").write_bytes(page.screenshot(full_page=True))
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("The draft text has been saved.")).to_be_visible()
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version 1 is published.")).to_be_visible()
    expect(page.get_by_role("heading", name="Purpose")).to_be_visible()

    page.get_by_role("link", name="Attach or remove documents and images").click()
    for viewport in (DESKTOP, PHONE_390):
        page.set_viewport_size(viewport)
        axe_clean(page, run_axe, failures, f"/c/{slug}/attachments ({viewport['width']} px)")
    page.set_viewport_size(DESKTOP)
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "Impact assessment.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    page.get_by_label("Description", exact=True).fill("Impact assessment")
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_text("“Impact-assessment.pdf” is attached.")).to_be_visible()
    for viewport in (DESKTOP, PHONE_390):
        page.set_viewport_size(viewport)
        axe_clean(page, run_axe, failures, f"/c/{slug}/attachments with a file ({viewport['width']} px)")
    shots.joinpath("documents-attachments.png").write_bytes(page.screenshot(full_page=True))

    page.goto(f"{live_server}/c/{slug}")
    documents = page.get_by_role("region", name="Documents")
    expect(documents.get_by_role("link", name="Impact assessment")).to_be_visible()
    for viewport in (DESKTOP, PHONE_390):
        page.set_viewport_size(viewport)
        axe_clean(page, run_axe, failures, f"/c/{slug} with its documents ({viewport['width']} px)")
    assert not failures, "\n\n".join(failures)
