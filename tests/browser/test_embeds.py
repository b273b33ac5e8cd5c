"""A section's embed inside a page of another site (another origin, served here by a small HTTP
server): it renders there, its "Have your say" opens Consult in a new tab; a normal page of
Consult put in the same kind of frame is refused by the browser. axe-core on the embeds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE

SLUG = "federal-source-code-policy"
SECTION = "pilot-program"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def other_site(tmp_path, live_server) -> Iterator[str]:
    """A council's page on another origin, framing an embed and a normal page of Consult."""
    (tmp_path / "index.html").write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Council news</title></head>
<body><h1>Council news</h1>
<iframe id="embed" title="Consultation section" src="{live_server}/c/{SLUG}/s/{SECTION}/embed" width="560" height="320"></iframe>
<iframe id="page" title="Consultation page" src="{live_server}/c/{SLUG}" width="560" height="320"></iframe>
</body></html>""",
        encoding="utf-8",
    )
    server = ThreadingHTTPServer(("localhost", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_section_embed_renders_on_another_site_and_a_page_does_not(new_context, live_server, other_site):
    page = new_context().new_page()
    page.goto(other_site + "/index.html")
    embed = page.frame_locator("#embed")
    expect(embed.get_by_role("heading", level=1)).to_contain_text("Pilot")
    button = embed.get_by_role("link", name="Have your say (opens in a new tab)")
    expect(button).to_have_attribute("target", "_blank")
    with page.context.expect_page() as opened:
        button.click()
    consult = opened.value
    consult.wait_for_load_state()
    assert consult.url == f"{live_server}/c/{SLUG}/s/{SECTION}"

    # The normal page is refused: its frame holds the browser's error, never Consult's page.
    frame = page.locator("#page").element_handle().content_frame()
    assert not frame.url.startswith(live_server), frame.url
    expect(page.frame_locator("#page").get_by_role("heading", name="Federal Source Code Policy")).to_have_count(0)


@pytest.mark.parametrize("path", [f"/c/{SLUG}/embed", f"/c/{SLUG}/s/{SECTION}/embed", f"/c/{SLUG}/amendments/A1/embed"])
@pytest.mark.parametrize("viewport", [{"width": 560, "height": 320}, PHONE])
def test_embeds_accessibility(path, viewport, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    page.goto(live_server + path)
    violations = run_axe(page)
    assert not violations, axe_report(violations, path)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
