"""Speed of re-anchoring annotations from the draft policy onto the final one.

Builds the anchor texts of both versions of the demo policy (the US Federal Source Code
Policy: draft of April 2016, final of August 2016), with the final version's renamed sections
keeping the draft's key the way the app does (``match_sections``: a "changed" match takes the
old key). Makes ``--count`` anchors on random word-aligned spans of 3-25 words of random draft
sections (seeded), then times ``reanchor`` onto the final version: one cold run (the first,
with empty caches) and the best of ``--runs`` more. The baseline, in the same run, re-anchors
the same anchors onto an identical copy of the draft, where every anchor must come out
anchored through the diff alone.

Then the same through the app, end to end: the anchors are stored as annotations on the draft
(a temporary SQLite file, or the PostgreSQL database given with ``--database``, whose public
schema is DROPPED and recreated) and the final version is published, which re-anchors them all
and stores a placement per annotation on the new version. The baseline publishes the same
final version onto a consultation with no annotations.

    .venv/bin/python bench/reanchor.py [--count 10000] [--seed 1] [--runs 3] [--database URL]
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import rapidfuzz

from consult.comments.anchoring import AnchorState, Placement, TextAnchor, quote_context, reanchor
from consult.core.text import render_markdown, text_content
from consult.demo import policy_files
from consult.proposals.importing import import_markdown_files
from consult.proposals.textdiff import match_sections

DRAFT = "v1-draft-2016-04"
FINAL = "v2-final-2016-08"
MIN_WORDS, MAX_WORDS = 3, 25


def anchor_texts(version_folder: str) -> dict[str, str]:
    """Section key -> anchor text (textContent of the rendered body), in document order."""
    sections = import_markdown_files(policy_files(version_folder))
    return {s.key: text_content(render_markdown(s.body)) for s in sections}


def with_reused_keys(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """``new`` with each renamed section under the old key it was matched to, as the app does."""
    matches = match_sections([(k, k, t) for k, t in old.items()], [(k, k, t) for k, t in new.items()])
    renamed = {m.new_key: m.old_key for m in matches if m.status == "changed" and m.new_key != m.old_key}
    return {renamed.get(key, key): text for key, text in new.items()}


def random_anchors(texts: Mapping[str, str], count: int, seed: int) -> list[TextAnchor]:
    """``count`` anchors on random runs of whole words in random sections (each section alike)."""
    rng = random.Random(seed)
    words = {key: [m.span() for m in re.finditer(r"\S+", text)] for key, text in texts.items()}
    keys = [key for key, spans in words.items() if len(spans) >= MIN_WORDS]
    anchors = []
    for _ in range(count):
        key = rng.choice(keys)
        spans, text = words[key], texts[key]
        length = rng.randint(MIN_WORDS, min(MAX_WORDS, len(spans)))
        first = rng.randrange(len(spans) - length + 1)
        start, end = spans[first][0], spans[first + length - 1][1]
        anchors.append(TextAnchor(key, start, end, text[start:end], *quote_context(text, start, end)))
    return anchors


def timed(run: Callable[[], list[Placement]], runs: int) -> tuple[float, float, list[Placement]]:
    """(cold seconds, best warm seconds of ``runs``, placements of the last run)."""
    started = time.perf_counter()
    placements = run()
    cold = time.perf_counter() - started
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        placements = run()
        best = min(best, time.perf_counter() - started)
    return cold, best, placements


def report(label: str, count: int, cold: float, best: float, placements: Sequence[Placement]) -> None:
    states = Counter(p.state for p in placements)
    print(f"{label}")
    print(f"  anchors:    {count}")
    print(f"  cold run:   {cold:.3f} s  ({count / cold:,.0f} anchors/s)")
    print(f"  best run:   {best:.3f} s  ({count / best:,.0f} anchors/s)")
    print("  states:     " + ", ".join(f"{state} {states[state]}" for state in AnchorState))


def publish_end_to_end(anchors: Sequence[TextAnchor], database_url: str) -> tuple[float, float, Counter[str]]:
    """Seconds to publish the final version onto a consultation without annotations and onto one
    whose draft carries ``anchors`` as annotations; and the states stored for the latter."""
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from consult import create_app
    from consult.accounts.models import Role
    from consult.accounts.services import _new_organisation, create_user, grant_role
    from consult.comments.models import Anchor
    from consult.contributions.models import Contribution
    from consult.core.models import db, utcnow
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        organisation = _new_organisation(slug="bench", name="Bench")
        author = create_user(email="author@bench.example", password="bench-password-1", display_name="Author")
        reader = create_user(email="reader@bench.example", password="bench-password-1", display_name="Reader")
        grant_role(organisation, author, Role.AUTHOR)

        def draft_consultation(slug: str):
            c = proposals.create_consultation(organisation, actor=author, slug=slug, title=slug)
            proposals.import_markdown(c, policy_files(DRAFT), actor=author)
            proposals.publish_version(c, actor=author)
            proposals.change_state(c, Transition.OPEN, actor=author)
            return c

        def publish_final(c) -> float:
            proposals.change_state(c, Transition.CLOSE, actor=author)
            proposals.import_markdown(c, policy_files(FINAL), actor=author)
            db.session.commit()
            started = time.perf_counter()
            version = proposals.publish_version(c, actor=author, note="Final policy.")
            db.session.commit()
            return time.perf_counter() - started, version

        empty, annotated = draft_consultation("empty"), draft_consultation("annotated")
        draft = annotated.current_version
        now = utcnow()
        db.session.execute(
            insert(Contribution),
            [
                {
                    "consultation_id": annotated.id,
                    "kind": "comment",
                    "author_id": reader.id,
                    "version_id": draft.id,
                    "section_key": a.section_key,
                    "body": "On these words.",
                    "body_html": "<p>On these words.</p>",
                    "moderation_state": "visible",
                    "created_at": now,
                    "depth": 0,
                }
                for a in anchors
            ],
        )
        ids = db.session.scalars(
            select(Contribution.id).where(Contribution.consultation_id == annotated.id).order_by(Contribution.id)
        ).all()
        db.session.execute(
            insert(Anchor),
            [
                {
                    "contribution_id": i,
                    "version_id": draft.id,
                    "state": "anchored",
                    "section_key": a.section_key,
                    "start": a.start,
                    "end": a.end,
                    "exact": a.exact,
                    "prefix": a.prefix,
                    "suffix": a.suffix,
                    "score": 1.0,
                }
                for i, a in zip(ids, anchors, strict=True)
            ],
        )
        db.session.commit()

        baseline, _ = publish_final(empty)
        seconds, final = publish_final(annotated)
        states = Counter(
            dict(db.session.execute(select(Anchor.state, func.count()).where(Anchor.version_id == final.id).group_by(Anchor.state)).all())
        )
        db.engine.dispose()
    return baseline, seconds, states


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="anchors to re-anchor (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the anchors (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="warm runs after the cold one (default 3)")
    parser.add_argument(
        "--database",
        help="postgresql://... URL for the end-to-end part; its public schema is DROPPED and recreated (default: a temporary SQLite file)",
    )
    args = parser.parse_args(argv)

    draft = anchor_texts(DRAFT)
    final = with_reused_keys(draft, anchor_texts(FINAL))
    anchors = random_anchors(draft, args.count, args.seed)
    copy = {key: "".join(text) for key, text in draft.items()}  # equal, not the same objects

    print(f"python {platform.python_version()}, rapidfuzz {rapidfuzz.__version__}")
    print(
        f"draft: {len(draft)} sections, {sum(map(len, draft.values())):,} characters; "
        f"final: {len(final)} sections, {sum(map(len, final.values())):,} characters"
    )
    print(f"anchors: {args.count} spans of {MIN_WORDS}-{MAX_WORDS} words, seed {args.seed}\n")

    base_cold, base_best, base_placements = timed(lambda: reanchor(anchors, draft, copy), args.runs)
    report("baseline: onto an identical copy of the draft", args.count, base_cold, base_best, base_placements)
    cold, best, placements = timed(lambda: reanchor(anchors, draft, final), args.runs)
    report("draft -> final policy", args.count, cold, best, placements)
    print(f"\nratio (best run): {best / base_best:.1f}x the baseline's time; cold: {cold / base_cold:.1f}x")

    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        if args.database:
            sys.path.insert(0, str(Path(__file__).parent))
            from pages import reset_postgresql

            database_url, kind = args.database, f"PostgreSQL {reset_postgresql(args.database)}"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", "SQLite (temporary file)"
        baseline, seconds, states = publish_end_to_end(anchors, database_url)
    print(f"\nend to end on {kind}: publishing the final version")
    print(f"  baseline, no annotations:     {baseline:.3f} s")
    print(
        f"  re-anchoring {args.count} annotations: {seconds:.3f} s  (+{seconds - baseline:.3f} s, "
        f"{args.count / max(seconds - baseline, 1e-9):,.0f} annotations/s)"
    )
    print("  states stored: " + ", ".join(f"{state} {states[state.value]}" for state in AnchorState))
    expected = Counter(p.state.value for p in placements)
    if states != expected:
        print(f"ERROR: the app stored {dict(states)}, re-anchoring alone gave {dict(expected)}", file=sys.stderr)
        return 1

    misplaced = sum(p.state is not AnchorState.ANCHORED or p.start != a.start for p, a in zip(base_placements, anchors, strict=True))
    if misplaced:
        print(f"ERROR: {misplaced} anchors not anchored in place on the identical copy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
