"""The interface's catalogues (run by `make catalogues`): extract every marked string, bring each
language's .po up to date, fill the English one, fold in translations written elsewhere, compile.

    python scripts/catalogues.py                 extract, update, compile
    python scripts/catalogues.py --merge DIR...  also take translations from DIR/<lang>.po files
                                                 (for strings whose translation is still empty)
    python scripts/catalogues.py --compile       compile only
    python scripts/catalogues.py --part DIR PATH...
                                                 write DIR/<lang>.po with the strings marked in
                                                 PATHs that are not translated yet

English is the language the strings are written in: its catalogue's translations are the
strings themselves, so it is complete by construction and a plural form is never lost.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "consult" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES = ("en", "fr", "es", "ar")
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2", "npgettext:1c,2,3", "pgettext:1c,2"]


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True, include_previous=False)


def extract(output: Path = TEMPLATE, *, locations: bool = False) -> Catalog:
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg")]
    for keyword in KEYWORDS:
        command += ["-k", keyword]
    command += ([] if locations else ["--no-location"]) + ["--sort-output", "--no-wrap", "--project=Consult", "-o", str(output), "consult"]
    output.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read(output)


def _key(message) -> tuple:
    return (message.id, message.context)


def update(template: Catalog, merges: list[Path]) -> None:
    extra: dict[str, list[Catalog]] = {language: [] for language in LANGUAGES}
    for folder in merges:
        for language in LANGUAGES:
            part = folder / f"{language}.po"
            if part.exists():
                extra[language].append(read(part, language))
    for language in LANGUAGES:
        path = po_path(language)
        catalog = read(path, language) if path.exists() else Catalog(locale=language, project="Consult")
        # A fresh copy each time: update() may share the template's messages with the catalogue.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a catalogue we keep is no draft
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if language == "en":
                message.string = message.id
                continue
            if _filled(message.string):
                continue
            for part in extra[language]:
                found = part.get(message.id, message.context)
                if found is not None and _filled(found.string) and not found.fuzzy:
                    message.string = found.string
                    break
        write(catalog, path)


def _filled(string) -> bool:
    if isinstance(string, (list, tuple)):
        return bool(string) and all(string)
    return bool(string)


def part(folder: Path, paths: list[str]) -> None:
    """Write FOLDER/<lang>.po for the strings marked in PATHS (files or folders under consult/)
    that the main catalogues do not translate yet, keeping what FOLDER's files already say: a
    piece of translation work that ``--merge FOLDER`` folds into the catalogues later."""
    folder.mkdir(parents=True, exist_ok=True)
    everything = extract(folder / "all.pot", locations=True)
    (folder / "all.pot").unlink()
    prefixes = [str(Path(p)).rstrip("/") for p in paths]
    wanted = [m for m in everything if m.id and any(loc.startswith(prefix) for loc, _line in m.locations for prefix in prefixes)]
    for language in LANGUAGES:
        if language == "en":
            continue
        main = read(po_path(language), language) if po_path(language).exists() else Catalog(locale=language)
        path = folder / f"{language}.po"
        before = read(path, language) if path.exists() else Catalog(locale=language)
        catalog = Catalog(locale=language, project="Consult")
        for message in wanted:
            done = main.get(message.id, message.context)
            if done is not None and _filled(done.string) and not done.fuzzy:
                continue
            kept = before.get(message.id, message.context)
            string = kept.string if kept is not None else ("" if isinstance(message.id, str) else ("",) * catalog.num_plurals)
            catalog.add(message.id, string, locations=message.locations, context=message.context, auto_comments=message.auto_comments)
        write(catalog, path)
        strings = [m for m in catalog if m.id]
        print(f"{path}: {len(strings)} strings, {sum(1 for m in strings if not _filled(m.string))} to translate")


def compile_all() -> None:
    for language in LANGUAGES:
        path = po_path(language)
        if not path.exists():
            continue
        catalog = read(path, language)
        with path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--merge", nargs="*", type=Path, default=[], help="folders of <lang>.po files to take translations from")
    parser.add_argument("--compile", action="store_true", help="compile the .po files only")
    parser.add_argument("--part", type=Path, help="write FOLDER/<lang>.po for the strings in the paths given (see part())")
    parser.add_argument("paths", nargs="*", help="with --part: files or folders, such as consult/templates/proposals")
    args = parser.parse_args()
    if args.part:
        part(args.part, args.paths)
        return
    if not args.compile:
        update(extract(), args.merge)
    compile_all()


if __name__ == "__main__":
    main()
