"""Annotating the policy in a real browser: with the mouse, with the keyboard only, on a touch
screen and without JavaScript. Each test quotes words nobody else quotes, since they share the
live server's database."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, tab_to

SLUG = "federal-source-code-policy"
PASSWORD = "demo-password-1"

# Where a phrase of a section is on screen: the client rectangles of a Range over its words.
PHRASE_RECTS = """([key, phrase]) => {
  const root = document.querySelector(`.section-body[data-section-key="${key}"]`);
  const fold = root.closest("details");  // a long section is folded: a reader opens it first
  if (fold) fold.open = true;
  root.scrollIntoView({block: "center"});
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + phrase.length);
    return Array.from(range.getClientRects()).map(r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom}));
  }
  return null;
}"""

# What the operating system does on a long press and a drag of the handles: select a range.
SELECT_PHRASE = """([key, phrase]) => {
  const root = document.querySelector(`.section-body[data-section-key="${key}"]`);
  const fold = root.closest("details");  // a long section is folded: a reader opens it first
  if (fold) fold.open = true;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + phrase.length);
    node.parentElement.scrollIntoView({block: "center"});
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }
  return false;
}"""


def sign_in_with_keys(page, live_server, email):
    """Sign in without touching the mouse: Tab to the fields, type, Enter."""
    page.goto(live_server + "/signin")
    tab_to(page, page.get_by_label("Email address"))
    page.keyboard.type(email)
    tab_to(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/signin" not in page.url, page.locator("main").inner_text()[:500]


def check_annotation_shown(page, live_server, key, phrase, body):
    """On the consultation page the words are highlighted, with a link to their thread that shows the comment."""
    page.goto(f"{live_server}/c/{SLUG}")
    read = page.locator(f"[id='s-{key}'] details.section-fold > summary")  # a long section is folded
    if read.count():
        read.click()
    section = page.locator(f".section-body[data-section-key='{key}']")
    mark = section.locator("mark.annotation").filter(has_text=phrase)
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(phrase)
    link = section.get_by_role("link", name=re.compile(re.escape(f"on “{phrase[:59]}")))
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("data-count", "1")  # shown by the stylesheet, not text of the page
    return link


def check_thread(page, phrase, body):
    expect(page).to_have_url(re.compile(r"/s/[^/?#]+(\?page=\d+)?#comment-\d+$"))
    comment_id = page.url.rsplit("#", 1)[1]
    card = page.locator(f"article[id='{comment_id}']")
    expect(card.locator("blockquote.quote")).to_have_text(re.compile(re.escape(phrase)))
    expect(card.locator(".comment-body")).to_have_text(body)
    expect(card.locator(".comment-author")).to_have_text("Chris Citizen")


def test_annotate_a_phrase_selected_with_the_mouse(new_context, live_server):
    page = new_context().new_page()
    sign_in_with_keys(page, live_server, "citizen@demo.consult.example")
    page.goto(f"{live_server}/c/{SLUG}")
    key, phrase = "objectives", "Provide instructions and support to facilitate implementation of this policy"
    body = "Which support? Name the office that answers agencies' questions."

    rects = page.evaluate(PHRASE_RECTS, [key, phrase])
    assert rects, f"{phrase!r} is not in section {key}"
    first, last = rects[0], rects[-1]
    page.mouse.move(first["left"] + 1, (first["top"] + first["bottom"]) / 2)
    page.mouse.down()
    page.mouse.move(last["right"] - 1, (last["top"] + last["bottom"]) / 2, steps=12)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()").strip() == phrase

    popup = page.get_by_role("button", name="Comment on the selected words")
    expect(popup).to_be_visible()
    address = page.url
    popup.click()
    # The comment form opens in the margin panel (margin.js), on the same page.
    panel = page.locator("#margin-panel")
    expect(panel.get_by_label("Words you are commenting on")).to_have_value(phrase)
    comment = panel.get_by_label("Your comment on these words")
    expect(comment).to_be_focused()
    comment.fill(body)
    panel.get_by_role("button", name="Post your comment").click()
    expect(panel.locator(".margin-status")).to_have_text("Your comment on the selected words is published.")
    expect(panel.locator("article.comment.margin-new")).to_contain_text(body)
    assert page.url == address

    page.goto(f"{live_server}/c/{SLUG}/s/{key}")
    expect(page.locator("#comments")).to_contain_text(body)
    expect(page.locator(f".section-body[data-section-key='{key}'] mark.annotation").filter(has_text=phrase)).to_have_count(1)

    link = check_annotation_shown(page, live_server, key, phrase, body)
    link.click()
    expect(panel).to_contain_text(body)


def test_annotate_a_phrase_with_the_keyboard_only(new_context, live_server):
    page = new_context().new_page()
    sign_in_with_keys(page, live_server, "citizen@demo.consult.example")
    page.goto(f"{live_server}/c/{SLUG}")
    key, phrase = "introduction", "they do not routinely make their source code discoverable and usable to other agencies"
    body = "A Government-wide inventory would fix this: require one."

    tab_to(page, page.locator("[id='s-introduction'] details.take-part > summary"))
    page.keyboard.press("Enter")  # one "Take part" per section opens its actions
    tab_to(page, page.get_by_role("link", name=re.compile(r"^Comment on this section\s*: Introduction$")), limit=5)
    page.keyboard.press("Enter")
    # The form opens in the margin panel (margin.js), its comment field focused; the quote comes before it.
    panel = page.locator("#margin-panel")
    expect(panel.get_by_label("Your comment on this section")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(panel.get_by_label("Words you are commenting on (optional)")).to_be_focused()
    page.keyboard.type(phrase)
    page.keyboard.press("Tab")
    expect(panel.get_by_label("Your comment on this section")).to_be_focused()
    page.keyboard.type(body)
    page.keyboard.press("Tab")
    expect(panel.get_by_role("button", name="Post your comment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.locator(".margin-status")).to_have_text("Your comment on the selected words is published.")
    expect(panel.locator("article.comment.margin-new")).to_be_focused()

    page.goto(f"{live_server}/c/{SLUG}/s/{key}")
    expect(page.locator("#comments")).to_contain_text(body)

    link = check_annotation_shown(page, live_server, key, phrase, body)
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(panel).to_contain_text(body)
    expect(panel.locator("#margin-heading")).to_be_focused()


def test_annotate_on_a_touch_screen(new_context, live_server):
    page = new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    sign_in_with_keys(page, live_server, "citizen@demo.consult.example")
    page.goto(f"{live_server}/c/{SLUG}")
    key, phrase = "scope-and-applicability", "this policy applies to all custom code created by covered agency employees"
    body = "Does this include code written by grantees, not only contractors?"

    assert page.evaluate(SELECT_PHRASE, [key, phrase]), f"{phrase!r} is not in section {key}"
    popup = page.get_by_role("button", name="Comment on the selected words")
    expect(popup).to_be_visible()
    expect(popup).to_be_in_viewport()
    popup.tap()
    panel = page.locator("#margin-panel")  # the bottom sheet (margin.js)
    expect(panel.get_by_label("Words you are commenting on")).to_have_value(phrase)
    panel.get_by_label("Your comment on these words").fill(body)
    panel.get_by_role("button", name="Post your comment").tap()
    expect(panel.locator("article.comment.margin-new")).to_contain_text(body)
    check_annotation_shown(page, live_server, key, phrase, body)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_annotate_without_javascript(new_context, live_server):
    page = new_context(java_script_enabled=False).new_page()
    sign_in_with_keys(page, live_server, "citizen@demo.consult.example")
    page.goto(f"{live_server}/c/{SLUG}")
    key, phrase = "government-wide-code-reuse", "the reuse of custom-developed source code purchased by the Federal Government"
    body = "Broadly available to whom, and where?"

    page.locator(f"[id='s-{key}'] details.take-part > summary").click()
    page.get_by_role("link", name=re.compile(r"^Comment on this section\s*: 4\. Government-Wide Code Reuse$")).click()
    # A quote that is not in the section is refused, and says why.
    page.get_by_label("Words you are commenting on (optional)").fill("words that the policy never says")
    page.get_by_label("Your comment", exact=True).fill(body)
    page.get_by_role("button", name="Post your comment").click()
    expect(page.locator("#quote-error")).to_contain_text("The words you quoted are not in the section")
    expect(page.get_by_label("Your comment", exact=True)).to_have_value(body)  # what they wrote is kept

    page.get_by_label("Words you are commenting on (optional)").fill(phrase)
    page.get_by_role("button", name="Post your comment").click()
    check_thread(page, phrase, body)
    check_annotation_shown(page, live_server, key, phrase, body)


# A Web Annotation client on the real DOM: the FragmentSelector's element, sliced in code points.
RESOLVE = """([id, start, end, before, after]) => {
  const element = document.getElementById(id);
  if (!element) return null;
  const text = Array.from(element.textContent);
  const join = (a, b) => text.slice(Math.max(0, a), b).join("");
  return {exact: join(start, end), prefix: join(start - before, start), suffix: join(end, end + after), count: document.querySelectorAll(`[id="${id}"]`).length};
}"""

# What the count links show: the stylesheet's generated content, as no text of the page.
LINK_COUNTS = """id => Array.from(document.getElementById(id).querySelectorAll("a.annotation-link")).map(
  a => ({shown: getComputedStyle(a, "::after").content, name: a.getAttribute("aria-label"), text: a.textContent}))"""


def test_the_w3c_selectors_resolve_in_the_real_dom(page, live_server):
    collection = page.request.get(f"{live_server}/api/v1/consultations/{SLUG}/annotations").json()
    first = page.request.get(re.sub(r"^https?://[^/]+", live_server, collection["first"])).json()
    passages = [item for item in first["items"] if isinstance(item["target"], dict) and "refinedBy" in item["target"]["selector"]]
    assert len(passages) >= 3
    for item in passages[:4]:
        target = item["target"]
        fragment = target["selector"]
        quote, position = fragment["refinedBy"]
        path = re.sub(r"^https?://[^/]+", "", target["source"])
        page.goto(live_server + path)
        prefix, suffix = quote.get("prefix", ""), quote.get("suffix", "")
        found = page.evaluate(RESOLVE, [fragment["value"], position["start"], position["end"], len(prefix), len(suffix)])
        assert found is not None and found["count"] == 1, (item["id"], fragment["value"])
        assert found["exact"] == quote["exact"], item["id"]
        assert (found["prefix"], found["suffix"]) == (prefix, suffix), item["id"]
        links = page.evaluate(LINK_COUNTS, fragment["value"])
        assert links and all(link["text"] == "" and link["name"] and link["shown"].strip('"').isdigit() for link in links), links
