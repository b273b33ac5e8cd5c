"""Suggest groups of similar contributions and flag near-duplicates (form-letter campaigns).

Pure functions over ``(id, text)`` pairs, with no Flask and no database, so a view, a CLI
command or a job can call them on whatever contributions it loaded. The texts may be Markdown:
link targets, URLs, HTML tags and code fences are dropped first (:func:`_plain`); other markup
is punctuation, which the tokenizer skips.

Both functions vectorise with scikit-learn's ``TfidfVectorizer`` and compare L2-normalised
vectors by cosine similarity, each with its own analyzer:

- themes (:func:`suggest_groups`): words and phrases of two adjacent words, lower-cased,
  without English stop words, plurals made singular, so the terms shown are readable words;
- near-duplicates (:func:`near_duplicates`): word shingles (runs of one to three words, every
  word kept), where a changed name or sentence only changes the shingles it touches.

Text written without spaces between words (Chinese, Japanese; vTaiwan's contributions are
Chinese) is cut into overlapping pairs of characters, as Lucene's CJK analyzer does, so
"計程車司機" gives the terms 計程, 程車, 車司, 司機 instead of one token per sentence. That needs no
dictionary and no model; the price is that some pairs straddle two words. Other scripts
written with spaces work as words, but only English stop words are removed.

Both run with BLAS/OpenMP limited to one thread (``threadpool_limits(1)``): they run inside a
web worker on a two-core machine and must not take every core from the other workers.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix  # scipy and threadpoolctl: requirements of scikit-learn
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

__all__ = ["Group", "suggest_groups", "near_duplicates"]

#: Average-linkage cut: two groups merge while the average cosine distance between their
#: members is below this, i.e. members share on average more than 1 - 0.85 = 15% of their
#: weighted vocabulary. See :func:`suggest_groups`.
GROUP_DISTANCE: Final = 0.85
#: Above this many distinct texts, the groups are found on a fixed random sample of this size
#: and the other texts join the group they fit (the pairwise distances of the sample take
#: SAMPLE² x 8 bytes: 32 MB here).
SAMPLE: Final = 2000
SEED: Final = 0
MAX_TERMS: Final = 5
#: :func:`near_duplicates` multiplies this many cells (rows x texts) of the similarity matrix
#: at once, and checks this many candidate pairs at once: bounded memory whatever the input.
CELLS: Final = 2_000_000
PAIRS: Final = 10_000
# Sums of the same products in another order differ in the last bits: a pair exactly at the
# threshold (identical texts at 1.0) must not depend on the order.
_ROUNDING: Final = 1e-9

# Words every consultation is full of, which would otherwise come out as a group's "terms".
STOP_WORDS: Final = ENGLISH_STOP_WORDS | {
    "need",
    "needs",
    "needed",
    "should",
    "must",
    "just",
    "like",
    "think",
    "really",
    "want",
    "make",
    "lot",
    "things",
    "thing",
}

# Han (with extension A and compatibility ideographs), hiragana and katakana: scripts written
# without spaces between words.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_UNSPACED}]+|(?:(?![{_UNSPACED}])[^\W_])+(?:'[^\W_]+)*")
_IS_UNSPACED = re.compile(rf"[{_UNSPACED}]").match
_MARKUP = re.compile(r"[\[<`&~]|https?:|www\.", re.IGNORECASE)
_SAME_PLURAL = frozenset({"species", "series", "news"})
_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_REFERENCE_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_URL = re.compile(r"<?\b(?:https?://|www\.)[^\s>)]+>?", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")


@dataclass(frozen=True)
class Group:
    """A suggested group: member ids, most central first, and the terms that set it apart."""

    ids: list[int]
    terms: list[str]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(self.ids))


def suggest_groups(items: Sequence[tuple[int, str]], *, max_groups: int = 12, min_size: int = 3) -> list[Group]:
    """Groups of contributions about the same thing, largest first, for a moderator to review.

    Each item is ``(id, text)``. A group has at least ``min_size`` members (copies of one text
    count) and lists its ids most central first (closest to the group's mean vector), with up to
    five terms that set it apart from the other contributions. At most ``max_groups`` groups are
    returned, largest first (then tightest, then lowest id). Contributions that fit no group are
    left out. The same input gives the same groups on every run.

    How many groups: none is chosen in advance. Average-linkage agglomerative clustering on
    cosine distance merges groups while the average distance between their members is below
    :data:`GROUP_DISTANCE`, so a group is a set of contributions that share, on average, more
    than 15% of their (TF-IDF weighted) vocabulary, whatever the number of contributions, and a
    contribution sharing too little with any group stays alone and is left out. The vectors
    used for this are words (no phrases) used by at least two distinct texts: a word nobody else
    uses cannot be shared, and would only dilute every similarity of the text that has it.

    Why not k-means with k chosen by the silhouette score: on short contributions (the Scoop
    HiveMind biodiversity statements, 115 characters at the median) the silhouette only grows with k,
    from 0.016 at k=2 to 0.066 at k=30, with no peak to choose; and k-means puts every
    contribution in some cluster, one-off remarks included, where a moderator wants the tight
    groups and the rest left alone. The cut of 0.85 was chosen on the same data (316 statements,
    every group of three or more counted): 0.8 groups 185 of them, 0.85 groups 237, and 0.9
    groups 277 but merges distinct themes (indigenous and introduced species, 13 statements)
    and builds groups on common words ("time", "land", "used"). No cut is clean: at 0.85 a
    group of 10 rests on "New Zealand(ers)" more than on a theme, and the 22 statements about
    1080 poison are spread over several groups (the largest holds 6). Longer texts share more
    words, so a corpus of long submissions may need a lower cut.

    Cost: average linkage needs all pairwise distances, so above :data:`SAMPLE` distinct texts
    it clusters a fixed random sample of that many (seeded, so deterministic), and every other
    text joins the sampled group it would have merged with under the same rule (an average
    cosine similarity to the group's members of at least ``1 - GROUP_DISTANCE``), or stays
    alone. A theme with fewer than two texts in the sample (rarer than about one in a
    thousand) is then missed.
    """
    if not items or max_groups < 1:
        return []
    with threadpool_limits(limits=1):
        return _suggest_groups(items, max_groups=max_groups, min_size=max(1, min_size))


def near_duplicates(items: Sequence[tuple[int, str]], *, threshold: float = 0.85) -> list[list[int]]:
    """Groups of near-identical contributions: form letters with a name or a sentence changed.

    Two contributions are near-duplicates when the cosine similarity of their vectors of word
    shingles (runs of one, two and three words, every word kept, sublinear term frequency,
    L2-normalised) is at least ``threshold``. A group is a connected set of such pairs, so a
    campaign whose copies each differ a little from the others stays one group. Each group is
    sorted by id, the groups by size (largest first, then lowest id). Texts with no words are
    left out.

    The vectors have no IDF weighting, unlike those of :func:`suggest_groups`: a campaign makes
    its own shingles common, so IDF would weigh the shared letter down and the edited names
    and sentences up, and the larger the campaign the less alike its copies would look (in the
    test's campaign of 40 letters, IDF splits it into 16 groups at 0.85). Without IDF the
    similarity is close to the share of shingles two texts have in common: at 0.85, a letter of
    seven sentences with one of them replaced is still found, and a one-word change in a short
    statement ("I live in a medium-sized NZ city" / "... medium-sized city", 0.82) is not.

    The result is the same as comparing every pair, but only some pairs are compared: those that
    share a run of three words, or are both very short, found with sparse matrix products a
    bounded block at a time, and of those only the ones that can still reach the threshold
    (:func:`_components` says why that is exact). No Python loop runs over pairs. Identical
    texts (case and spacing aside) are merged first, so a campaign of thousands of exact copies
    costs one row.
    """
    if len(items) < 2:
        return []
    with threadpool_limits(limits=1):
        return _near_duplicates(items, threshold=threshold)


def _plain(text: str) -> str:
    """A Markdown contribution without link targets, URLs, HTML tags or code fences.

    Other markup (``*``, ``#``, ``>``, ``|``, ``_``) is punctuation, which the tokenizer skips.
    """
    if _MARKUP.search(text):
        text = _FENCE.sub(" ", text)
        text = _IMAGE_OR_LINK.sub(r" \1 ", text)
        text = _REFERENCE_LINK.sub(r" \1 ", text)
        text = _REFERENCE_DEFINITION.sub(" ", text)
        text = _URL.sub(" ", text)
        text = _TAG.sub(" ", text)
        text = html.unescape(text)
    return text.replace("\u2019", "'")


def _tokens(text: str) -> list[str]:
    """Lower-cased words, and overlapping pairs of characters of unspaced runs (see the module)."""
    tokens = []
    for token in _TOKEN.findall(_plain(text).casefold()):
        if len(token) > 2 and _IS_UNSPACED(token):
            tokens.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            tokens.append(token)
    return tokens


def _theme_terms(text: str) -> list[tuple[str, str]]:
    """(term, as written) pairs: words and phrases of two adjacent words, singular, without stop words.

    Contractions ("don't", "we're") count as stop words; a possessive ("nature's") is its word.
    """
    kept: list[tuple[str, str] | None] = []  # None breaks a phrase: a stop word, or unspaced text
    terms: list[tuple[str, str]] = []
    for token in _tokens(text):
        if _IS_UNSPACED(token):
            terms.append((token, token))
            kept.append(None)
            continue
        word, _, suffix = token.partition("'")
        if (suffix and suffix != "s") or len(word) < 2 or word in STOP_WORDS:
            kept.append(None)
        else:
            terms.append((_singular(word), word))
            kept.append(terms[-1])
    terms.extend((f"{a[0]} {b[0]}", f"{a[1]} {b[1]}") for a, b in pairwise(kept) if a and b)
    return terms


def _singular(word: str) -> str:
    """Harman's S-stemmer: "cats", "predators", "cities" are "cat", "predator", "city"."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")) or word in _SAME_PLURAL:
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    return word[:-1]


def _shingles(text: str) -> list[str]:
    """Runs of one to three consecutive tokens, every word kept."""
    tokens = _tokens(text)
    return [*tokens, *map(" ".join, pairwise(tokens)), *map(" ".join, zip(tokens, tokens[1:], tokens[2:], strict=False))]


def _distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts (whitespace and case ignored) in first-seen order, and each text's index among them."""
    index: dict[str, int] = {}
    inverse = np.fromiter(
        (index.setdefault(" ".join(text.casefold().split()), len(index)) for text in texts),
        dtype=np.intp,
        count=len(texts),
    )
    firsts = np.unique(inverse, return_index=True)[1]
    return [texts[i] for i in firsts], inverse


def _suggest_groups(items: Sequence[tuple[int, str]], *, max_groups: int, min_size: int) -> list[Group]:
    ids = np.array([item_id for item_id, _ in items])
    texts, inverse = _distinct([text for _, text in items])
    counts = np.bincount(inverse, minlength=len(texts))
    ids_of = np.split(ids[np.argsort(inverse, kind="stable")], np.cumsum(counts)[:-1])  # per distinct text
    written: dict[str, Counter[str]] = defaultdict(Counter)  # term -> how it is written, for display

    def analyze(text: str) -> list[str]:
        pairs = _theme_terms(text)
        for term, as_written in pairs:
            written[term][as_written] += 1
        return [term for term, _ in pairs]

    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, dtype=np.float32)
    try:
        vectors = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no terms at all: only stop words, punctuation or nothing
        return []
    vocabulary = vectorizer.get_feature_names_out()
    shared = (np.char.find(vocabulary.astype(str), " ") < 0) & (vectors.getnnz(axis=0) >= 2)
    words = vectors[:, np.flatnonzero(shared)]
    words = normalize(words) if words.shape[1] else words
    # A text with no shared word is alone (with its copies); a text with no term at all is out.
    labels = -1 - np.arange(len(texts))  # _cluster's labels are >= 0
    clustered = np.flatnonzero(words.getnnz(axis=1))
    labels[clustered] = _cluster(words[clustered])
    rows = np.flatnonzero(vectors.getnnz(axis=1))
    labels = labels[rows]
    order = np.argsort(labels, kind="stable")
    clusters = np.split(rows[order], np.flatnonzero(np.diff(labels[order])) + 1) if len(rows) else []

    candidates = []
    for members in clusters:
        size = int(counts[members].sum())
        if size < min_size:
            continue
        weights = counts[members].astype(np.float32)
        centre = np.asarray(vectors[members].T @ weights).ravel() / size
        closeness = vectors[members] @ centre
        tightness = float(closeness @ weights) / size
        first_id = min(int(ids_of[row].min()) for row in members)
        candidates.append((-size, -tightness, first_id, members, closeness, centre))
    candidates.sort(key=lambda candidate: candidate[:3])

    total = np.asarray(vectors.T @ counts.astype(np.float32)).ravel()
    vocabulary = [written[term].most_common(1)[0][0] for term in vocabulary]
    groups = []
    for minus_size, _, _, members, closeness, centre in candidates[:max_groups]:
        inside = -minus_size
        outside = (total - centre * inside) / max(1, len(items) - inside)
        present = np.asarray((vectors[members] > 0).T.astype(np.int64) @ counts[members]).ravel()
        central_first = members[np.argsort(-closeness, kind="stable")]
        member_ids = [int(i) for row in central_first for i in np.sort(ids_of[row])]
        terms = _top_terms(centre - outside, present >= min(2, inside), vocabulary)
        groups.append(Group(ids=member_ids, terms=terms))
    return groups


def _cluster(vectors: csr_matrix) -> np.ndarray:
    """Average-linkage cluster labels of L2-normalised rows (a row alone has a label of its own)."""
    count = vectors.shape[0]
    if count == 0:
        return np.zeros(0, dtype=np.intp)
    if count == 1:
        return np.zeros(1, dtype=np.intp)
    sample = np.arange(count)
    if count > SAMPLE:
        sample = np.sort(np.random.default_rng(SEED).choice(count, SAMPLE, replace=False))
    sampled = vectors[sample]
    distances = 1.0 - (sampled @ sampled.T).toarray().astype(np.float64)
    np.clip(distances, 0.0, 2.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    sample_labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=GROUP_DISTANCE,
    ).fit_predict(distances)
    labels = np.arange(count) + count  # alone unless it joins a group
    labels[sample] = sample_labels
    if count > SAMPLE:
        # The rest joins the sampled group (of two or more) it would have merged with.
        names, sizes = np.unique(sample_labels, return_counts=True)
        grouped = np.flatnonzero(sizes[sample_labels] >= 2)
        if len(grouped):
            column = np.searchsorted(names[sizes >= 2], sample_labels[grouped])
            names = names[sizes >= 2]
            weight = 1.0 / sizes[sample_labels[grouped]].astype(np.float32)  # a mean over each group
            membership = csr_matrix((weight, (grouped, column)), shape=(len(sample), len(names)))
            means = (sampled.T @ membership).tocsc()  # features x groups, sparse
            rest = np.setdiff1d(np.arange(count), sample)
            similarity = (vectors[rest] @ means).toarray()
            best = similarity.argmax(axis=1)
            joins = similarity[np.arange(len(rest)), best] >= 1.0 - GROUP_DISTANCE
            labels[rest[joins]] = names[best[joins]]
    return labels


def _top_terms(score: np.ndarray, shared: np.ndarray, vocabulary: Sequence[str]) -> list[str]:
    """Up to :data:`MAX_TERMS` terms that set a group apart, among those ``shared`` by its members.

    A phrase replaces the words it is made of, and a word already inside a chosen phrase is
    skipped, so "pest control" does not come with "pest" and "control".
    """
    terms: list[str] = []
    for index in np.argsort(-score, kind="stable"):
        if score[index] <= 0 or len(terms) == MAX_TERMS:
            break
        if not shared[index]:
            continue
        term = str(vocabulary[index])
        words = term.split(" ")
        if len(words) == 1 and any(word in chosen.split(" ") for chosen in terms for word in words):
            continue
        terms = [chosen for chosen in terms if chosen not in words]
        terms.append(term)
    return terms


def _near_duplicates(items: Sequence[tuple[int, str]], *, threshold: float) -> list[list[int]]:
    ids = np.array([item_id for item_id, _ in items])
    texts, inverse = _distinct([text for _, text in items])
    vectorizer = TfidfVectorizer(analyzer=_shingles, sublinear_tf=True, use_idf=False)  # no IDF: see near_duplicates
    try:
        vectors = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no words in any text
        return []
    three_words = np.char.count(vectorizer.get_feature_names_out().astype(str), " ") == 2
    component = _components(vectors, three_words, threshold)
    kept = np.flatnonzero(vectors.getnnz(axis=1)[inverse])  # items whose text has words
    labels = component[inverse[kept]]
    order = np.lexsort((ids[kept], labels))  # by component, then by id
    members = np.split(ids[kept][order], np.flatnonzero(np.diff(labels[order])) + 1)
    groups = [[int(i) for i in group] for group in members if len(group) >= 2]
    return sorted(groups, key=lambda group: (-len(group), group[0]))


def _components(vectors: csr_matrix, three_words: np.ndarray, threshold: float) -> np.ndarray:
    """Connected components of the rows, two rows joined when their cosine is >= ``threshold``.

    Computing every pair would be quadratic, and dense in practice (nearly every two texts
    share "the"). So the candidates are pairs that share a three-word shingle, found with a
    sparse product of the three-word columns alone (rare: each pair shares few), and kept only
    if they can still reach the threshold: their three-word part's dot product plus the product
    of the norms of their other parts (Cauchy-Schwarz). A pair sharing no three-word shingle has
    a cosine of at most the product of those norms, which for texts of more than a few words is
    below 0.85; the short texts for which it is not are compared with each other in full.

    Pairs whose rows are already connected are skipped, which is what keeps a campaign cheap:
    once its copies are connected, the rows of a large component are only multiplied by the
    rows outside it, so its thousands of copies are not compared with each other again.
    """
    count = vectors.shape[0]
    shingles3 = vectors[:, np.flatnonzero(three_words)].tocsr()
    shorter = vectors[:, np.flatnonzero(~three_words)].tocsr()
    norms = np.sqrt(np.asarray(shorter.multiply(shorter).sum(axis=1)).ravel())
    links = _Links(vectors, threshold - _ROUNDING)
    block = max(1, CELLS // max(1, count))

    everyone = shingles3.T.tocsr()
    for start in range(0, count, block):
        rows = np.arange(start, min(count, start + block))
        for part, columns in links.split(rows, start):
            if columns is None:
                product = (shingles3[part] @ everyone).tocoo()
                first, second = part[product.row], product.col
            else:
                product = (shingles3[part] @ shingles3[columns].T.tocsr()).tocoo()
                first, second = part[product.row], columns[product.col]
            reachable = (second > first) & (product.data + norms[first] * norms[second] >= links.floor)
            links.check(first[reachable], second[reachable])

    # Pairs sharing no three-word shingle: cosine <= norms[first] * norms[second] <= both norms.
    short = np.flatnonzero(norms >= links.floor)
    among = shorter[short]
    transposed = among.T.tocsr()
    for start in range(0, len(short), block):
        product = (among[start : start + block] @ transposed).tocoo()
        first, second = product.row + start, product.col
        reachable = (second > first) & (product.data >= links.floor)
        links.check(short[first[reachable]], short[second[reachable]])
    return links.component


class _Links:
    """The pairs found similar so far, as connected components, for :func:`_components`."""

    #: A component this large is multiplied only by the rows outside it.
    LARGE = 64

    def __init__(self, vectors: csr_matrix, floor: float) -> None:
        self.vectors = vectors
        self.floor = floor
        self.component = np.arange(vectors.shape[0])
        self._from: list[np.ndarray] = []
        self._to: list[np.ndarray] = []

    def split(self, rows: np.ndarray, start: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """(rows, columns to compare them with: None for all) covering ``rows``."""
        sizes = np.bincount(self.component)
        labels = self.component[rows]
        large = np.unique(labels[sizes[labels] >= self.LARGE])
        for label in large:
            later = np.arange(start, len(self.component))
            yield rows[labels == label], later[self.component[start:] != label]
        rest = rows[~np.isin(labels, large)]
        if len(rest):
            yield rest, None

    def check(self, first: np.ndarray, second: np.ndarray) -> None:
        """Compute the cosine of the candidate pairs not yet connected, and connect the similar ones."""
        for start in range(0, len(first), PAIRS):
            a, b = first[start : start + PAIRS], second[start : start + PAIRS]
            unjoined = self.component[a] != self.component[b]
            a, b = a[unjoined], b[unjoined]
            if not len(a):
                continue
            cosine = np.asarray(self.vectors[a].multiply(self.vectors[b]).sum(axis=1)).ravel()
            similar = cosine >= self.floor
            if similar.any():
                self._from.append(a[similar])
                self._to.append(b[similar])
                rows, cols = np.concatenate(self._from), np.concatenate(self._to)
                count = len(self.component)
                graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(count, count))
                self.component = connected_components(graph, directed=False)[1]
