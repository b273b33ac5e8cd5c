"""The record stands alone: it carries its JSON Schema and a data dictionary that documents every
field, value and CSV column it holds (so a field added later without a line in the dictionary
fails here), and the opinion map as the site shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from consult.core.models import db
from consult.record import bundles, export
from consult.voting import statements
from tests.factories import make_consultation
from tests.record.test_record import BASE, CSV_FILES, Exported, build
from tests.voting.test_opinion_pages import two_camps

# CSV columns whose values are a fixed list: each value met must be named in the column's row.
LISTED_COLUMNS = {"kind", "state", "decision", "action", "change", "direction"}


def bundled_schema_errors(exported: Exported) -> list[str]:
    """record.json checked against the schema the record itself carries."""
    schema = exported.json("schema/record.schema.json")
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(exported.json("record.json"))]


def dictionary(exported: Exported) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """DATA-DICTIONARY.md read as a program would: record.json's paths, and each CSV file's
    columns, to the table row that documents them (a row may name several, each in backticks)."""
    fields_part, csv_part = exported.text("DATA-DICTIONARY.md").split("\n## The CSV files\n")

    def rows(part: str) -> dict[str, str]:
        named: dict[str, str] = {}
        for line in part.splitlines():
            if line.startswith("| `"):
                for name in re.findall(r"`([^`]+)`", line.split(" | ")[0]):
                    named[name] = line
        return named

    files = {block.split("\n", 1)[0].strip(): rows(block) for block in re.split(r"^### ", csv_part, flags=re.M)[1:]}
    return rows(fields_part), files


def record_paths(value, prefix: str = ""):
    """Every key path in a JSON value: ``contributions[].anchors[].state``."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from record_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            yield from record_paths(item, prefix + "[]")


def schema_listed_values(schema: dict) -> dict[str, set[str]]:
    """Each path the schema describes, with the text values it lists (enum, const)."""
    found: dict[str, set[str]] = {}

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            extra = {k: v for k, v in node.items() if k != "$ref"}
            node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[1]], **extra}
        return node

    def walk(node: dict, path: str) -> None:
        node = resolve(node)
        values = found.setdefault(path, set())
        values.update(v for v in node.get("enum", []) if isinstance(v, str))
        if isinstance(node.get("const"), str):
            values.add(node["const"])
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key, []):
                walk(sub, path)
        for key in ("then", "else"):
            if key in node:
                walk(node[key], path)
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}" if path else name)
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + "[]")

    walk(schema, "")
    return {path: values for path, values in found.items() if path and not path.endswith("[]")}


def undocumented(exported: Exported) -> list[str]:
    """What the record holds, or its schema describes, that its data dictionary does not name."""
    fields, csv_files = dictionary(exported)
    missing = [f"record.json: {path}" for path in sorted(set(record_paths(exported.json("record.json")))) if path not in fields]
    for path, values in sorted(schema_listed_values(exported.json("schema/record.schema.json")).items()):
        if path not in fields:
            missing.append(f"record.json (schema): {path}")
            continue
        missing += [f"record.json: {path} = {value!r}" for value in sorted(values) if f"`{value}`" not in fields[path]]
    for name in CSV_FILES:
        columns = csv_files.get(name, {})
        table = exported.csv(name)
        with (exported.folder / name).open(encoding="utf-8", newline="") as handle:
            header = handle.readline().strip().split(",")
        missing += [f"{name}: {column}" for column in header if column not in columns]
        for column in LISTED_COLUMNS & set(header) & set(columns):
            values = {row[column] for row in table} - {""}
            missing += [f"{name}: {column} = {value!r}" for value in sorted(values) if f"`{value}`" not in columns[column]]
    return missing


@pytest.fixture
def record(app, tmp_path, organisation, author, moderator) -> Exported:
    built = build(organisation, author, moderator)
    with app.test_request_context(base_url=BASE):
        export.write_folder(built.consultation, tmp_path / "record")
    return Exported(tmp_path / "record", built)


def test_the_record_carries_its_schema_and_data_dictionary_and_its_readme_links_them(record):
    assert record.json("schema/record.schema.json") == json.loads((export.BUNDLED / "schema" / "record.schema.json").read_text())
    assert bundled_schema_errors(record) == []
    readme = record.text("README.md")
    assert "[`DATA-DICTIONARY.md`](DATA-DICTIONARY.md)" in readme
    assert "[`schema/record.schema.json`](schema/record.schema.json)" in readme
    assert record.text("DATA-DICTIONARY.md").startswith("# Data dictionary of the open policy record\n")


def test_every_field_value_and_column_of_a_record_is_in_its_data_dictionary(record):
    assert undocumented(record) == []


def test_the_walk_finds_what_the_dictionary_leaves_out(record):
    """The check above fails for a field, a value or a column the dictionary does not name."""
    text = record.text("DATA-DICTIONARY.md")
    for line in ("| `contributions[].anchors[].prefix` |", "| `quote` |"):
        assert line in text
    cut = "\n".join(line for line in text.splitlines() if not line.startswith(("| `contributions[].anchors[].prefix` |", "| `quote` |")))
    cut = cut.replace("`incorporated` (its text", "incorporated (its text")
    (record.folder / "DATA-DICTIONARY.md").write_text(cut, encoding="utf-8")
    assert undocumented(record) == [
        "record.json: contributions[].anchors[].prefix",
        "record.json: contributions[].amendment.state = 'incorporated'",
        "record.json (schema): contributions[].anchors[].prefix",
        "contributions.csv: quote",
    ]


def test_the_opinion_map_is_in_the_record_as_the_site_shows_it(app, client, tmp_path, organisation, author):
    c = make_consultation(organisation, author=author, state="open", slug="buses", title="Night buses")
    items, _ = two_camps(c)
    with app.test_request_context(base_url=BASE):
        export.write_folder(c, tmp_path / "before")
    before = Exported(tmp_path / "before")
    assert before.json("record.json")["opinion_map"] is None
    assert before.csv("opinion_map.csv") == []
    fingerprint = bundles.fingerprint(c, BASE)

    data = statements.compute_map(c)
    db.session.commit()
    assert data["k"] == 2
    assert bundles.fingerprint(c, BASE) != fingerprint  # the download is rebuilt with the map
    hidden = items[1]  # representative of a group on the stored map, then hidden by a moderator
    assert any(s["statement"] == hidden.id for g in data["groups"] for s in g["representative"])
    hidden.moderation_state = "hidden"
    db.session.commit()

    with app.test_request_context(base_url=BASE):
        export.write_folder(c, tmp_path / "after")
    after = Exported(tmp_path / "after")
    assert bundled_schema_errors(after) == []
    assert undocumented(after) == []
    shown = after.json("record.json")["opinion_map"]
    assert [(g["group"], g["participants"]) for g in shown["groups"]] == [(1, 8), (2, 8)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown["computed_at"])
    quoted = {s["statement_id"] for g in shown["groups"] for s in g["representative"]} | {s["statement_id"] for s in shown["consensus"]}
    assert hidden.id not in quoted and quoted <= {s.id for s in items}
    assert all(g["representative"] for g in shown["groups"])
    agreed = [s for s in shown["consensus"] if s["direction"] == "agree"]
    assert [s["statement_id"] for s in agreed] == [items[0].id]  # everyone agreed with statement 0
    assert (agreed[0]["n_success"], agreed[0]["n_trials"]) == (16, 16)

    # the map page says the same
    page = client.get("/c/buses/opinion-map").get_data(as_text=True)
    for g in shown["groups"]:
        assert re.search(rf"Group {g['group']}.*?<td>{g['participants']}</td>", page, re.S)
        for s in g["representative"]:
            assert f"Statement number {items.index(next(i for i in items if i.id == s['statement_id']))}." in page

    table = after.csv("opinion_map.csv")
    assert [(r["kind"], r["group"], r["participants"]) for r in table if r["kind"] == "group"] == [("group", "1", "8"), ("group", "2", "8")]
    consensus = [r for r in table if r["kind"] == "consensus"]
    assert [(r["statement_id"], r["direction"], r["statement"]) for r in consensus if r["direction"] == "agree"] == [
        (str(items[0].id), "agree", "Statement number 0.")
    ]
    assert str(hidden.id) not in {r["statement_id"] for r in table}
    assert "participants" not in json.dumps(shown["groups"][0]["representative"])  # nobody named, only counted


def test_bundled_files_are_package_data():
    """The schema and the dictionary ship inside the package (a wheel has no docs/ folder)."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "record/bundled/**/*" in pyproject["tool"]["setuptools"]["package-data"]["consult"]
    for name in export.BUNDLED_FILES:
        assert (export.BUNDLED / name).is_file()
