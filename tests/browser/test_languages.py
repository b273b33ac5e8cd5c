"""The interface in each of its languages, in a browser whose language is that one: the list, a
consultation, a section with annotations, the diff, an amendment and the outcome page carry the
right ``lang`` and ``dir``, show no English string of the interface (the content may be English:
it sits in elements whose ``lang`` says so), and pass axe-core; Arabic at phone width too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

TRANSLATIONS = Path(__file__).resolve().parents[2] / "consult" / "translations"
OPEN_SLUG = "federal-source-code-policy"
CLOSED_SLUG = "federal-source-code-policy-2016"
PAGES = {
    "list": "/",
    "consultation": f"/c/{OPEN_SLUG}",
    "section-with-annotations": f"/c/{OPEN_SLUG}/s/pilot-program",
    "diff": f"/c/{CLOSED_SLUG}/diff?from=1&to=2",
    "amendment": f"/c/{OPEN_SLUG}/amendments/A1",
    "outcome": f"/c/{CLOSED_SLUG}/outcome",
}
LANGUAGES = {"en": "ltr", "fr": "ltr", "es": "ltr", "ar": "rtl"}

# The interface's text: every text node and every read attribute, except inside an element whose
# own ``lang`` differs from the page's (content written in another language: the policy, comments).
INTERFACE_TEXT = """() => {
  const pageLang = document.documentElement.lang;
  const foreign = el => { const holder = el.closest('[lang]'); return holder && holder !== document.documentElement && holder.lang !== pageLang; };
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || ['SCRIPT', 'STYLE'].includes(el.tagName) || foreign(el)) continue;
    parts.push(node.textContent);
  }
  for (const el of document.body.querySelectorAll('[aria-label], [title], [alt], [placeholder]')) {
    if (foreign(el)) continue;
    for (const name of ['aria-label', 'title', 'alt', 'placeholder']) if (el.getAttribute(name)) parts.push(el.getAttribute(name));
  }
  parts.push(document.title);
  return parts.join('\\n').replace(/\\s+/g, ' ');
}"""


def _english_phrases(language: str) -> list[str]:
    """Interface strings whose translation differs from the English and that are long enough to
    be recognised in a page's text: two words or more, no placeholder, no markup."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale=language)
    phrases = []
    for message in catalogue:
        if not message.id or not isinstance(message.id, str) or not isinstance(message.string, str):
            continue
        english = message.id
        if "%(" in english or "<" in english or len(english.split()) < 2 or len(english) < 10:
            continue
        if message.string.strip() and message.string.strip() != english.strip():
            phrases.append(" ".join(english.split()))
    return phrases


@pytest.fixture(scope="module")
def phrases() -> dict[str, list[str]]:
    return {language: _english_phrases(language) for language in LANGUAGES if language != "en"}


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_interface_speaks_the_language(language, name, new_context, live_server, run_axe, axe_report, phrases):
    context = new_context(locale=language, viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    response = page.goto(live_server + PAGES[name])
    assert response.status == 200, f"{PAGES[name]}: {response.status}"
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", LANGUAGES[language])
    if language != "en":
        text = page.evaluate(INTERFACE_TEXT)
        left = sorted({p for p in phrases[language] if re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text)})
        assert not left, f"{PAGES[name]} in {language} still says, in English: {left[:15]}"
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{PAGES[name]} ({language})")


@pytest.mark.parametrize("name", list(PAGES))
def test_arabic_at_phone_width(name, new_context, live_server, run_axe, axe_report):
    page = new_context(locale="ar", viewport=PHONE, bypass_csp=True).new_page()
    page.goto(live_server + PAGES[name])
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"{PAGES[name]} is {scroll_width}px wide in Arabic on a phone"
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{PAGES[name]} (ar, phone)")


def test_the_switcher_changes_the_language_without_script(new_context, live_server):
    page = new_context(locale="en", java_script_enabled=False).new_page()
    page.goto(live_server + PAGES["consultation"])
    page.get_by_role("group", name="Language").get_by_role("button", name="Français").click()
    expect(page).to_have_url(re.compile(re.escape(PAGES["consultation"]) + "$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("group", name="Langue").get_by_role("button", name="Français")).to_have_attribute("aria-current", "true")
