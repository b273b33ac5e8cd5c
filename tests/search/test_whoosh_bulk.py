"""A rebuild's ``BulkPool`` writes the index Whoosh's own pool writes: the same terms, postings,
statistics and block boundaries, field lengths and stored fields; also when it hands its
postings over to Whoosh's pool half-way (past its memory limit), and when the documents are
added as a rebuild adds them (``_add_document``: text fields grouped a batch of documents at a
time by ``_TextBatches``, ID fields without Whoosh's analysis)."""

from __future__ import annotations

import random

import pytest
from whoosh import index as whoosh_index

from consult.search.whoosh_backend import _add_document, _TextBatches, grouped_fields, schema
from consult.search.whoosh_codec import ArrayCodec, BulkPool

WORDS = ["river", "bridge", "tram", "lane", "park", "bench", "tree", "the", "of", "rivière", "pont", "les", "arbre", "x" * 40, "é"]
WORDS += ["puentes", "el", "los", "جسور", "في", "Brücke", "und", "a.b.c", "x*y", "R2"]
LANGUAGES = ["en", "fr", "es", "ar", "de"]


def documents(count: int) -> list[dict]:
    rng = random.Random(11)
    out = []
    for n in range(count):
        language = rng.choice(["en", "fr"] if n % 3 else LANGUAGES)
        group = language if language != "de" else "other"
        body = " ".join(rng.choice(WORDS[: 5 if n % 3 else None]) for _ in range(rng.randint(1, 60)))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))
        if n == 700:
            body = "park " * 70_000 + "bench"  # positions past 16 bits
        if n % 97 == 0:
            body = "the of les el " * (n % 3) + body  # stop words first: the words kept are renumbered from the first
        if n % 101 == 0:
            title, body = "the of", ""  # nothing kept
        fields = {"key": f"comment:{n}", "kind": rng.choice(["comment", "reply"]), "consultation": str(n % 5), "language": language}
        fields.update(body=body, title=title, **{f"body_{group}": body, f"title_{group}": title})
        if n % 4 == 0:
            fields["thread"] = str(n // 4)
        if n % 5 == 0:
            fields["section"] = f"Part-{n % 7}.A é"  # ID fields keep their value as it is
        out.append(fields)
    return out


def build(folder, docs: list[dict], limit: int | None, *, batch: int | None = None):
    """The index of ``docs``: through Whoosh's pool (no ``limit``), or a ``BulkPool``; with a
    ``batch``, as a rebuild adds them (``_add_document``), ``batch`` words at a time."""
    index = whoosh_index.create_in(str(folder), schema())
    writer = index.writer(codec=ArrayCodec())
    pool = None
    if limit is not None:
        pool = writer.pool = BulkPool(writer.pool, grouped_fields(writer.schema), limit=limit)
    if batch is None:
        for fields in docs:
            writer.add_document(**fields)
    else:
        texts = _TextBatches(pool, writer.schema, words=batch)
        for fields in docs:
            _add_document(writer, fields, texts)
        texts.flush()
    handed_over = pool is not None and not pool.terms
    writer.commit()
    return index, handed_over


def described(index) -> dict:
    """Everything a reader sees of the index, block by block."""
    seen = {}
    with index.searcher() as searcher:
        reader = searcher.reader()
        (leaf, _offset), *others = reader.leaf_readers()
        assert not others
        for fieldname, btext in leaf.all_terms():
            info = leaf.term_info(fieldname, btext)
            stats = (
                info.doc_frequency(),
                info.weight(),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
            )
            matcher = leaf.postings(fieldname, btext)
            postings, blocks = [], []
            if info.is_inlined():  # one posting, in the terms file
                blocks.append("inlined")
                postings.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
                assert not matcher.is_active()
            while matcher.is_active():
                blocks.append((matcher._blocklength, matcher._maxid, matcher._maxweight, matcher._minlength, matcher._maxlength))
                for _ in range(matcher._blocklength):
                    postings.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
            seen[(fieldname, btext)] = (stats, blocks, postings)
        for fieldname in leaf.schema.names():
            seen[("lengths", fieldname)] = [leaf.doc_field_length(n, fieldname) for n in range(leaf.doc_count_all())]
            seen[("total", fieldname)] = leaf.field_length(fieldname)
        seen["stored"] = [leaf.stored_fields(n) for n in range(leaf.doc_count_all())]
    return seen


@pytest.fixture(scope="module")
def docs():
    return documents(3_200)


@pytest.fixture(scope="module")
def whoosh_s(tmp_path_factory, docs):
    index, _ = build(tmp_path_factory.mktemp("whoosh"), docs, None)
    return described(index)


@pytest.mark.parametrize(
    ("limit", "hands_over", "batch"),
    [
        (1 << 30, False, None),
        (40_000, True, None),
        (1 << 30, False, 1),  # every document its own batch
        (1 << 30, False, 5_000),
        (1 << 30, False, 1 << 30),  # one batch
        (40_000, True, 5_000),
    ],
    ids=["grouped", "handed over", "batched by document", "batched", "one batch", "batched and handed over"],
)
def test_the_same_index_as_whoosh_s_pool(tmp_path, docs, whoosh_s, limit, hands_over, batch):
    index, handed_over = build(tmp_path, docs, limit, batch=batch)
    assert handed_over == hands_over
    ours = described(index)
    assert ours.keys() == whoosh_s.keys()
    for key, expected in whoosh_s.items():
        assert ours[key] == expected, key
    blocks = [len(value[1]) for key, value in whoosh_s.items() if isinstance(key, tuple) and key[0] == "body_en"]
    assert max(blocks) >= 3  # terms of several blocks were compared
