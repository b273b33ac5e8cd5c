"""Finds user-facing strings that are not marked for translation (tests/core/test_i18n.py).

    python -m tests.i18n_scan [PATH ...]    list what is unmarked under consult/ (or the paths)

Templates: text between tags, the literal text of attributes people read or hear (``alt``,
``title``, ``placeholder``, ``aria-label``…), and prose-like string literals inside ``{{ }}`` and
``{% %}`` that are not the argument of ``_()``/``gettext()``/``ngettext()``/``pgettext()``.
Text inside ``{% trans %}…{% endtrans %}`` is marked.

Python: string literals (and f-strings, which can never be translated) given to ``flash()``,
to form fields as label or description, to validators as ``message``, to the exceptions whose
message is shown (``RuleViolation``, ``ValidationError``, ``QueryError``…), to ``abort(...,
description=)`` and to ``error_response()``.

A line can opt out with the comment ``i18n: not shown`` (Python) or ``{# i18n: not shown #}`` on
the same line (templates), for text that is code, a format or a machine's.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
CONSULT = ROOT / "consult"
OPT_OUT = "i18n: not shown"

#: attributes whose value is read or heard by people
READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-roledescription", "aria-valuetext", "label"}
MARKERS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l", "lazy_gettext", "lazy_ngettext", "lazy_pgettext"}
LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
PLACEHOLDER = "\x00"


@dataclass(frozen=True)
class Unmarked:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _prose(value: str) -> bool:
    """Does a string literal in a template read like words for people (not a class, a code, an
    endpoint or a format)?"""
    value = value.strip()
    if not LETTERS.search(value) or value.startswith(("#", "/", "http", "mailto:", ".")):
        return False
    if re.fullmatch(r"[A-Z][A-Z0-9_.]*", value):  # a constant's name, a method: "POST", "GET"
        return False
    return bool(re.match(r"[A-Z][a-z’']", value) or re.search(r"[a-z]+ [a-z]+.*[.!?:)]$", value))


def _blank(match: re.Match) -> str:
    return "\n" * match.group(0).count("\n")


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and LETTERS.search(value.replace(PLACEHOLDER, "")):
                self.found.append((self.getpos()[0], f"{name}={value.replace(PLACEHOLDER, '…')}"))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if self._skip:
            return
        if LETTERS.search(data.replace(PLACEHOLDER, "")):
            line = self.getpos()[0] + data[: len(data) - len(data.lstrip())].count("\n")
            self.found.append((line, " ".join(data.replace(PLACEHOLDER, "…").split())))


_ENV = Environment(extensions=["jinja2.ext.i18n"])


def _expression_strings(source: str) -> list[tuple[int, str]]:
    """Prose-like string literals inside ``{{ }}`` and ``{% %}``, not inside a marker's call
    (``_("…")``, every argument of ``ngettext(…)`` and ``pgettext(…)``)."""
    found = []
    calls: list[bool] = []  # for each open parenthesis: is it a marker's call?
    previous = ""
    for line, kind, value in _ENV.lex(source):
        if kind == "whitespace":
            continue
        if kind == "operator" and value == "(":
            calls.append(previous in MARKERS)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind in ("variable_end", "block_end"):
            calls.clear()
        elif kind == "string":
            text = value[1:-1]  # the lexer gives the literal with its quotes
            if _prose(text) and not any(calls):
                found.append((line, text))
        previous = value if kind == "name" else ""
    return found


def _expression(html: str, match: re.Match) -> str:
    """What stands for a ``{{ }}`` in the HTML that is parsed: inside a tag (``<div{{ attrs }}>``)
    nothing but its line breaks, elsewhere a placeholder (text whose words are unknown)."""
    before = html[: match.start()]
    inside_tag = before.rfind("<") > before.rfind(">")
    return (" " if inside_tag else PLACEHOLDER) + _blank(match)


def scan_template(path: Path) -> list[Unmarked]:
    source = path.read_text(encoding="utf-8")
    relative = str(path.relative_to(ROOT))
    skipped = {n for n, text in enumerate(source.splitlines(), 1) if OPT_OUT in text}
    results = [(line, text) for line, text in _expression_strings(source)]
    html = re.sub(r"\{#.*?#\}", _blank, source, flags=re.S)
    html = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", _blank, html, flags=re.S)
    html = re.sub(r"\{\{.*?\}\}", lambda m: _expression(html, m), html, flags=re.S)
    html = re.sub(r"\{%.*?%\}", _blank, html, flags=re.S)
    if path.suffix == ".txt":  # mail in plain text: every line with words is text
        results += [(n, line.strip()) for n, line in enumerate(html.splitlines(), 1) if LETTERS.search(line.replace(PLACEHOLDER, ""))]
    else:
        finder = _TextFinder()
        finder.feed(html)
        finder.close()
        results += finder.found
    return [Unmarked(relative, line, text) for line, text in sorted(results) if line not in skipped]


#: calls whose first argument (or ``message=``/``description=``/``reason=``) is shown to people
SHOWN_FIRST_ARGUMENT = {"flash", "RuleViolation", "ValidationError", "StopValidation", "QueryError", "ImageRefused", "UploadRefused"}
SHOWN_KEYWORDS = {"message", "description", "reason", "label", "title", "hint"}
VALIDATORS = {"DataRequired", "InputRequired", "Length", "NumberRange", "Email", "EqualTo", "Regexp", "AnyOf", "NoneOf", "URL", "Optional"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _literal(node: ast.AST | None) -> str | None:
    """The text of an unmarked string literal or f-string, None for anything else (a marked
    string is a call to ``_()`` and friends, which is not a literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and LETTERS.search(node.value):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "f-string: " + "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
    if isinstance(node, ast.BinOp):  # "a" + "b", "…" % x
        return _literal(node.left)
    return None


def scan_python(path: Path) -> list[Unmarked]:
    source = path.read_text(encoding="utf-8")
    relative = str(path.relative_to(ROOT))
    lines = source.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        candidates: list[ast.AST] = []
        if name in SHOWN_FIRST_ARGUMENT or name.endswith("Field") or name == "error_response":
            index = 1 if name == "error_response" else 0
            if len(node.args) > index:
                candidates.append(node.args[index])
            candidates += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        elif name in VALIDATORS or name in {"abort", "PermissionDenied"}:
            candidates += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        elif name == "SelectChoice" and len(node.args) > 1:
            candidates.append(node.args[1])
        for candidate in candidates:
            text = _literal(candidate)
            if text is not None:
                found.append((candidate.lineno, text))
    return [
        Unmarked(relative, line, text)
        for line, text in sorted(found)
        if OPT_OUT not in lines[line - 1] and OPT_OUT not in lines[min(line, len(lines) - 1)]
    ]


def scan(paths: list[Path] | None = None) -> list[Unmarked]:
    paths = paths or [CONSULT]
    files: list[Path] = []
    for path in paths:
        path = path.resolve()
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".py", ".html", ".txt"))
    results: list[Unmarked] = []
    for file in files:
        if file.suffix == ".py":
            if "migrations" not in file.parts:
                results += scan_python(file)
        elif "templates" in file.parts:
            results += scan_template(file)
    return results


if __name__ == "__main__":
    found = scan([Path(p) for p in sys.argv[1:]] or None)
    for item in found:
        print(item)
    print(f"{len(found)} unmarked", file=sys.stderr)
