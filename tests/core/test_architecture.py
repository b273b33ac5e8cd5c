"""The house rules of docs/architecture.md, checked: the layers (import-linter's contracts in
.importlinter), no import cycle between modules, every module placed in a layer, and no
service reading Flask's request state."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "consult"

#: Modules that are not in a layer on purpose: the app factory and the command's entry point
#: (they assemble every layer), and packages' empty ``__init__`` files.
UNLAYERED = {"consult", "consult.__main__"}

#: Below the web layer nothing reads the request: services take the actor and what was typed as
#: arguments, so the CLI, jobs, the API and tests call the same code.
REQUEST_STATE = {("flask", "request"), ("flask", "session"), ("flask", "g"), ("flask", "url_for"), ("flask_login", "current_user")}
#: Where request state may be read: the web layer and the plumbing that serves it.
WEB_MODULES = ("views", "forms", "cli", "demo", "api", "__init__", "__main__", "extensions")
REQUEST_PLUMBING = {
    "consult.core.errors",
    "consult.core.params",
    "consult.core.routing",
    "consult.core.templating",
    "consult.core.action_urls",
    "consult.core.links",
    "consult.accounts.signin_flow",  # the web side of signing in, in steps
    "consult.groups.moderation_views",  # issue 20 (activity): a views module (the groups have several)
    "consult.accounts.oidc_views",  # the web side of signing in with an identity provider
    "consult.accounts.devices",  # the known-browser cookie and the User-Agent of the signing-in browser
    "consult.accounts.twofactor_views",  # a views module: the second factor's pages and sign-in step
    "consult.permissions",
    "consult.core.browser_token",  # the cookie naming a browser (drafts, the browser a sign-up was made in)
    "consult.core.i18n",  # the language of a request: its cookie and Accept-Language
    "consult.groups.call_views",  # a views module (issue 20): the pages of calls to action
    "consult.groups.draft_views",  # issue 20 (drafts): a views module (the groups have several)
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_lint_imports_keeps_every_contract():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("consult", exclude_type_checking_imports=True, cache_dir=None)
    names = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.find_modules_directly_imported_by(v)):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for name in names:
        if name not in index:
            visit(name)
    assert cycles == []


def _layered_modules() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    named: set[str] = set()
    for line in config["importlinter:contract:layers"]["layers"].split("\n"):
        for name in line.replace("|", ":").split(":"):
            name = name.strip().strip("()")
            if name:
                named.add(name)
    return named


def test_every_module_is_placed_in_a_layer():
    named = _layered_modules()
    unplaced = []
    for name, path in modules().items():
        if name in UNLAYERED or any(name == n or name.startswith(n + ".") for n in named):
            continue
        if path.name == "__init__.py" and not ast.parse(path.read_text()).body[1:]:
            continue  # a package's docstring-only __init__
        unplaced.append(name)
    assert unplaced == [], "name these modules in .importlinter's layers contract (docs/architecture.md says which layer)"


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in modules()
        if n not in UNLAYERED and n.rsplit(".", 1)[-1] not in WEB_MODULES and n not in REQUEST_PLUMBING and not n.startswith("consult.api")
    ),
)
def test_no_request_state_below_the_web_layer(name):
    tree = ast.parse(modules()[name].read_text())
    used = {
        (node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module for alias in node.names
    }
    assert not used & REQUEST_STATE, f"{name} reads request state: {sorted(used & REQUEST_STATE)}"
