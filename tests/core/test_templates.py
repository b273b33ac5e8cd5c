"""Templates ask ``can()`` or a named state (``consultation.is_open``) instead of comparing
states themselves: a rule written in a template is a rule the API, search and export do not
share. They may still show a state's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "consult" / "templates"

JINJA = re.compile(r"{%.*?%}|{{.*?}}", re.S)
LOOP = re.compile(r"\bfor\s+[\w\s,]+?\s+in\b")  # "for s in states" iterates, it does not compare
STATE_COMPARISON = re.compile(
    r"\w*state(?:\.value)?\s*(?:==|!=|\bnot\s+in\b|\bin\b)"  # c.state == "open", moderation_state in (...)
    r"|(?:==|!=)\s*[\w.]*state(?:\.value)?\b"  # "open" == c.state
    r"|(?:select|reject)attr\(\s*[\"'][\w.]*state[\"']"  # |selectattr("state", "equalto", "open")
    r"|[\w.]*state(?:\.value)?\s+is\s+(?:not\s+)?(?:sameas|equalto|eq|ne)\b",  # c.state is equalto "open"
)


def state_comparisons(source: str) -> list[str]:
    """The Jinja expressions in ``source`` that compare a state themselves."""
    found = []
    for match in JINJA.finditer(source):
        expression = LOOP.sub(" ", match.group())
        if STATE_COMPARISON.search(expression):
            found.append(match.group())
    return found


@pytest.mark.parametrize(
    "source",
    [
        '{% if consultation.state == "open" %}',
        "{% if c.state in ('closed', 'concluded') %}",
        '{% if a.state not in ("withdrawn",) %}',
        '{% if amendment.state != "withdrawn" %}',
        '{% if c.moderation_state == "pending" %}',
        '{% if c.state.value == "draft" %}',
        '{{ "yes" if "open" == consultation.state }}',
        '{% for c in items|selectattr("state", "equalto", "open") %}',
        '{% if consultation.state is equalto "open" %}',
    ],
)
def test_the_scan_finds_a_state_comparison(source):
    assert state_comparisons(f"<p>{source}</p>") == [source]


@pytest.mark.parametrize(
    "source",
    [
        "{% if can(Action.POST_COMMENT, consultation) %}",
        "{% if consultation.is_open %}",
        "{{ state_badge(c.state) }}",
        "{% for s in states %}",
        "{% for state in states %}",
        "<p>The consultation is in state == open</p>",  # text, not a template expression
        '{{ url_with(state=s, page=None) }}',
    ],
)
def test_the_scan_leaves_other_expressions_alone(source):
    assert state_comparisons(source) == []


def test_no_template_compares_states():
    found = {
        str(path.relative_to(TEMPLATES)): hits
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (hits := state_comparisons(path.read_text(encoding="utf-8")))
    }
    assert list(TEMPLATES.rglob("*.html"))
    assert found == {}
