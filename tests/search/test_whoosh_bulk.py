"""A rebuild's ``BulkPool`` writes the index Whoosh's own pool writes: the same terms, postings,
statistics and block boundaries, field lengths and stored fields; also when it hands its
postings over to Whoosh's pool half-way (past its memory limit)."""

from __future__ import annotations

import random

import pytest
from whoosh import index as whoosh_index

from consult.search.whoosh_backend import _Text, schema
from consult.search.whoosh_codec import ArrayCodec, BulkPool

WORDS = ["river", "bridge", "tram", "lane", "park", "bench", "tree", "the", "of", "rivière", "pont", "les", "arbre", "x" * 40, "é"]


def documents(count: int) -> list[dict]:
    rng = random.Random(11)
    out = []
    for n in range(count):
        language = rng.choice(["en", "fr"])
        body = " ".join(rng.choice(WORDS[: 5 if n % 3 else None]) for _ in range(rng.randint(1, 60)))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))
        if n == 700:
            body = "park " * 70_000 + "bench"  # positions past 16 bits
        fields = {"key": f"comment:{n}", "kind": rng.choice(["comment", "reply"]), "consultation": str(n % 5), "language": language}
        fields.update(body=body, title=title, **{f"body_{language}": body, f"title_{language}": title})
        if n % 4 == 0:
            fields["thread"] = str(n // 4)
        out.append(fields)
    return out


def build(folder, docs: list[dict], limit: int | None):
    index = whoosh_index.create_in(str(folder), schema())
    writer = index.writer(codec=ArrayCodec())
    pool = None
    if limit is not None:
        pool = writer.pool = BulkPool(writer.pool, [n for n, f in writer.schema.items() if isinstance(f, _Text)], limit=limit)
    for fields in docs:
        writer.add_document(**fields)
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
    return documents(2_400)


@pytest.fixture(scope="module")
def whoosh_s(tmp_path_factory, docs):
    index, _ = build(tmp_path_factory.mktemp("whoosh"), docs, None)
    return described(index)


@pytest.mark.parametrize(("limit", "hands_over"), [(1 << 30, False), (40_000, True)], ids=["grouped", "handed over"])
def test_the_same_index_as_whoosh_s_pool(tmp_path, docs, whoosh_s, limit, hands_over):
    index, handed_over = build(tmp_path, docs, limit)
    assert handed_over == hands_over
    ours = described(index)
    assert ours.keys() == whoosh_s.keys()
    for key, expected in whoosh_s.items():
        assert ours[key] == expected, key
    blocks = [len(value[1]) for key, value in whoosh_s.items() if isinstance(key, tuple) and key[0] == "body_en"]
    assert max(blocks) >= 3  # terms of several blocks were compared
