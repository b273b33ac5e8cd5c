"""Statements and the opinion map for a newcomer (issue 17), in a real browser: voting one
statement at a time with progress and the tally only after each vote; the map's legend one line
per group at desktop and phone widths; the map page reloading itself when a map being computed
is ready; axe-core on the statements, the card and the map at both widths, light and
forced-colours; screenshots of the map under ``.cache/screenshots/``.

The statements are test_opinion_map's (written once per session by ``ensure_statements``, with
the two camps' votes) and three more written here by the site admin, whom
test_opinion_map's own card test expects to have nothing left after its newest statement (one's
own statements are never offered), with two votes each. The author votes through the card: they
voted on the camps' statements, not on the newest nor on these.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, REPO, sign_in
from tests.browser.test_amendments import SLUG
from tests.browser.test_opinion_map import CITIZEN, ensure_statements

ADMIN = "admin@demo.consult.example"
VOTER = "author@demo.consult.example"
SEEDERS = ["moderator@demo.consult.example", "orgadmin@demo.consult.example"]
OURS = [f"Statements-test statement {i}: one idea to agree with." for i in range(3)]
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
PROGRESS = re.compile(r"You have voted on (\d+) of (\d+) statements?\.")

_written: list[str] = []


@pytest.fixture
def statements_ready(new_context, live_server):
    """The camps' statements and votes, and ours, once per session."""
    ensure_statements(new_context, live_server)
    if not _written:
        page = new_context().new_page()
        sign_in(page, live_server, ADMIN)
        for body in OURS:
            page.goto(f"{live_server}/c/{SLUG}/statements")
            page.get_by_label("Your statement", exact=True).fill(body)
            page.get_by_role("button", name="Publish the statement").click()
            expect(page.get_by_text("Your statement is published.")).to_be_visible()
        # Two votes each before the author's, so that whichever file runs first,
        # test_opinion_map's newest statement (fewer votes, or as many and older) stays the
        # one its citizen is offered first.
        for email in SEEDERS:
            seeder = new_context().new_page()
            sign_in(seeder, live_server, email)
            seeder.goto(f"{live_server}/c/{SLUG}/statements")
            for body in OURS:
                item = seeder.locator("li[id^='statement-']", has_text=body)
                item.get_by_role("button", name=re.compile(r"^Agree statement \d+$")).click()
                expect(seeder.get_by_text("You agree.")).to_be_visible()
        _written.extend(OURS)


def save_screenshot(page, screenshot_dir: Path | None, name: str) -> None:
    """A full-page screenshot in CONSULT_SCREENSHOT_DIR, else .cache/screenshots/ (issue 17 wants
    them). Written here rather than with ``path=``: Playwright writes that file through its event
    loop's thread pool, whose threads outlive the test and fail every unit test after this folder."""
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.png").write_bytes(page.screenshot(full_page=True))


def progress_of(page) -> tuple[int, int]:
    match = PROGRESS.search(page.locator(".statement-progress").inner_text())
    assert match, page.locator("main").inner_text()[:500]
    return int(match.group(1)), int(match.group(2))


def test_a_citizen_votes_one_at_a_time_seeing_progress_and_the_tally_only_after_each_vote(statements_ready, new_context, live_server):
    page = new_context().new_page()
    sign_in(page, live_server, VOTER)
    page.goto(f"{live_server}/c/{SLUG}/statements/vote")
    voted, total = progress_of(page)
    assert total - voted >= len(OURS), (voted, total)
    seen = []
    while voted < total:
        card = page.locator("article.statement-card")
        body = card.locator(".statement-body").inner_text()
        expect(card).to_contain_text(f"Statement {voted + 1} of {total}")
        expect(card.locator(".tally-agree")).to_have_count(0)  # no count before the vote
        expect(card).to_contain_text("How others voted is shown once you have voted.")
        card.get_by_role("button", name=re.compile(r"^Agree statement \d+$")).click()

        previous = page.locator("section.previous-vote")
        expect(previous).to_contain_text(body)  # now the count, of the statement just answered
        expect(previous.locator(".tally-agree")).to_have_text(re.compile(r"^[1-9]\d* agree$"))
        expect(previous).to_contain_text("your vote: agree")
        assert progress_of(page) == (voted + 1, total)
        voted += 1
        seen.append(body)
    assert set(OURS) <= set(seen)
    expect(page.get_by_role("heading", name="You have voted on every statement.")).to_be_visible()
    expect(page.get_by_role("link", name="See where you stand on the opinion map")).to_have_attribute("href", f"/c/{SLUG}/opinion-map")


LEGEND_LINES = """legend => Array.from(legend.querySelectorAll("li")).map(li => {
  const words = li.querySelector("span"), mark = li.querySelector("svg").getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(words);
  const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  const text = words.getBoundingClientRect();
  const middle = mark.top + mark.height / 2;
  return {text: words.textContent, lines: tops.size, beside: middle > text.top && middle < text.bottom && mark.right <= text.left};
})"""


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_map_legend_is_one_line_per_group(width, statements_ready, new_context, live_server, screenshot_dir):
    page = new_context(viewport=VIEWPORTS[width]).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/opinion-map")
    legend = page.locator("ul.map-legend")
    expect(legend).to_be_visible(timeout=60_000)  # a map being computed: the page reloads itself when it is ready
    items = legend.evaluate(LEGEND_LINES)
    groups = [i for i in items if i["text"].startswith("Group ")]
    assert len(groups) >= 2, items
    for item in items:
        assert item["lines"] == 1 and item["beside"], item  # mark and words together, on one line
    assert re.fullmatch(r"Group 1: \w+s, \d+ (people|person)", groups[0]["text"]), groups[0]
    expect(page.locator("table")).to_contain_text("people in this group who voted on it")
    expect(page.locator("#map-updating")).to_have_count(0, timeout=60_000)  # the current map, by the page's own reload
    save_screenshot(page, screenshot_dir, f"statements-map-{width}")


def test_the_map_page_reloads_itself_when_the_new_map_is_ready(statements_ready, new_context, live_server):
    """The script asks the status while it says "updating" and reloads once it does not. The
    status is answered here (the worker's timing is not the test's to guess): updating twice,
    then ready."""
    page = new_context().new_page()
    page.goto(f"{live_server}/c/{SLUG}/statements")  # a page of its own: only the script under test asks
    asked = []

    def status(route):
        asked.append(route.request.url)
        ready = len(asked) > 2
        route.fulfill(json={"current": ready, "updating": not ready, "failed": False})

    page.route("**/opinion-map/status", status)
    page.evaluate(
        """url => { const p = document.createElement("p"); p.id = "map-updating";
                    p.setAttribute("data-status-url", url); document.querySelector("main").append(p); }""",
        f"/c/{SLUG}/opinion-map/status",
    )
    with page.expect_navigation(url=re.compile(rf"/c/{SLUG}/statements$"), timeout=30_000):
        page.add_script_tag(url=f"{live_server}/static/js/opinion-map.js")
    assert len(asked) == 3  # asked again while updating, and reloaded once it was ready
    expect(page.locator("#map-updating")).to_have_count(0)


def open_statements(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}/statements")
    expect(page.locator(".statement-progress")).to_be_visible()


def open_card(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}/statements/vote")
    expect(page.locator("article.statement-card")).to_be_visible()


def open_map(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}/opinion-map")
    expect(page.locator("ul.map-legend")).to_be_visible(timeout=60_000)


@pytest.mark.parametrize("colours", ["light", "forced-colours"])
@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_statements_card_and_map_accessibility(
    width, colours, statements_ready, new_context, live_server, run_axe, axe_report, screenshot_dir
):
    page = new_context(viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    if colours == "forced-colours":
        page.emulate_media(forced_colors="active")
    sign_in(page, live_server, CITIZEN)  # has statements left to vote on: the card shows one
    for name, open_page in (("statements", open_statements), ("card", open_card), ("map", open_map)):
        open_page(page, live_server)
        save_screenshot(page, screenshot_dir, f"statements-{name}-{width}-{colours}")
        violations = run_axe(page)
        assert not violations, axe_report(violations, f"{page.url} ({name}, {width}, {colours})")
