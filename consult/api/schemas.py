"""The API's request and response shapes (pydantic models): spectree checks requests against them
and writes the OpenAPI description from them (``consult/api/spec.py``). Field descriptions are
marked for translation but made text at import (English): the OpenAPI description is one
document; the documentation page translates them as it shows them (``openapi.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _storable(value: str) -> str:
    """Text a database can keep: no NUL (PostgreSQL refuses it) and no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]
Key = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_storable)]


class Input(BaseModel):
    """A request body: unknown fields are refused (a misspelt one would otherwise be ignored)."""

    model_config = ConfigDict(extra="forbid")


# ---- problems -----------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description=str(_l("The field, dotted for nested ones (e.g. `body`); empty for the whole body.")))
    message: str


class LegacyError(BaseModel):
    status: int
    title: str
    message: str


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description=str(_l("A URI naming the kind of problem; `about:blank` when the status says it all.")))
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description=str(_l("For input that failed validation: what is wrong with each field.")))
    error: LegacyError = Field(description=str(_l("The same, in the shape the API used before problem details (deprecated).")))


# ---- queries ------------------------------------------------------------------------------------


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


class ConsultationsQuery(PageQuery):
    state: Literal["draft", "open", "closed", "concluded"] | None = None


class AmendmentsQuery(PageQuery):
    sort: Literal["support", "newest"] = "support"


class AnnotationsQuery(BaseModel):
    page: int | None = Field(None, ge=1, description=str(_l("One page of the collection (an AnnotationPage); without it, the collection.")))


class CursorQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cursor: str | None = Field(None, max_length=500, description=str(_l("`next_cursor` of the previous page; none for the first page.")))
    limit: int = Field(50, ge=1, le=100)


class CommentsQuery(CursorQuery):
    section: Key | None = Field(None, description=str(_l("Only the comments on this section (its key).")))


# ---- reading ------------------------------------------------------------------------------------


class OrganisationRef(BaseModel):
    slug: str
    name: str


class Consultation(BaseModel):
    slug: str
    title: str
    summary: str
    state: Literal["draft", "open", "closed", "concluded"]
    organisation: OrganisationRef
    opens_at: str | None
    closes_at: str | None
    current_version: int | None
    url: str
    licence: str
    api_url: str


class ConsultationList(BaseModel):
    consultations: list[Consultation]
    page: int
    per_page: int
    total: int


class Section(BaseModel):
    key: str
    position: int
    level: int
    heading: str
    change: str | None
    text: str = Field(description=str(_l("The section's Markdown.")))
    plain_text: str = Field(description=str(_l("Its text, in which annotations count their offsets.")))


class VersionSummary(BaseModel):
    number: int
    published_at: str | None
    change_note: str | None
    api_url: str


class Version(VersionSummary):
    sections: list[Section]


class ConsultationDetail(Consultation):
    versions: list[VersionSummary]
    sections: list[Section]


class RedlineOp(BaseModel):
    op: str
    text: str


class AmendmentAnswer(BaseModel):
    decision: str
    reason: str | None
    answered_at: str | None


class Tally(BaseModel):
    support: int
    oppose: int
    abstain: int


class Amendment(BaseModel):
    id: int
    number: int
    label: str
    url: str
    api_url: str
    section_key: str | None
    version: int
    author: str
    created_at: str
    rationale: str
    proposed_text: str
    redline: list[RedlineOp]
    state: str
    answer: AmendmentAnswer | None
    withdrawn_at: str | None
    incorporated_in_version: int | None
    co_supporters: list[str]
    tally: Tally
    conflicts_with: list[int]


class AmendmentList(BaseModel):
    amendments: list[Amendment]
    page: int
    per_page: int
    total: int
    waiting_for_answer: int
    response_threshold: int | None


class AnnotationDocument(BaseModel):
    """A W3C Web Annotation collection (JSON-LD), or one page of it."""

    model_config = ConfigDict(extra="allow")


class Quote(BaseModel):
    exact: str | None
    prefix: str
    suffix: str
    start: int | None
    end: int | None
    version: int
    state: str


class Comment(BaseModel):
    id: int
    kind: Literal["comment", "reply"]
    consultation: str = Field(description=str(_l("The consultation's slug.")))
    version: int
    section_key: str | None
    parent_id: int | None
    thread_id: int | None
    author: str
    created_at: str
    edited_at: str | None
    moderation_state: Literal["visible", "pending", "hidden"]
    body: str = Field(description=str(_l("Markdown, as written.")))
    body_html: str = Field(description=str(_l("The Markdown as sanitised HTML.")))
    quote: Quote | None = Field(description=str(_l("For an annotation: the words it is about.")))
    url: str
    api_url: str


class CommentPage(BaseModel):
    comments: list[Comment]
    next_cursor: str | None
    next: str | None


class StatementTally(BaseModel):
    agree: int
    disagree: int
    passed: int


class Statement(BaseModel):
    id: int
    author: str
    created_at: str
    body: str
    moderation_state: Literal["visible", "pending", "hidden"]
    tally: StatementTally | None = Field(description=str(_l("Null while the consultation is open, unless you voted on it or wrote it.")))


class StatementPage(BaseModel):
    statements: list[Statement]
    next_cursor: str | None
    next: str | None


class OpinionStatement(BaseModel):
    model_config = ConfigDict(extra="allow")

    statement_id: int
    direction: str


class OpinionGroup(BaseModel):
    group: int
    participants: int
    representative: list[OpinionStatement]


class OpinionMap(BaseModel):
    computed: bool = Field(description=str(_l("False until the map has been computed with at least one group.")))
    computed_at: str | None
    groups: list[OpinionGroup]
    consensus: list[OpinionStatement]


class Theme(BaseModel):
    id: int
    name: str
    summary: str | None
    created_at: str | None
    updated_at: str | None
    contribution_ids: list[int]
    cites: list[int]


class SectionSummary(BaseModel):
    id: int
    section_key: str
    summary: str | None
    updated_at: str | None
    cites: list[int]


class Themes(BaseModel):
    published: bool = Field(description=str(_l("Themes and summaries are published with the outcome; until then both lists are empty.")))
    themes: list[Theme]
    section_summaries: list[SectionSummary]


class SearchQuery(BaseModel):
    q: str = Field(
        min_length=1, max_length=200, description=str(_l("The words to search for (quotes for a phrase, - to leave a word out)."))
    )
    consultation: str | None = Field(None, description=str(_l("Only in this consultation (its slug).")))
    kind: Literal["consultation", "section", "comment", "reply", "amendment", "statement", "theme", "answer"] | None = None
    status: Literal["open", "closed", "concluded"] | None = None
    language: Literal["en", "fr", "es", "ar"] | None = Field(None, description=str(_l("Only what is written in this language.")))
    page: int = Field(1, ge=1)
    per_page: int = Field(20, ge=1, le=100)


class SearchResult(BaseModel):
    kind: str
    title_html: str
    snippet_html: str
    url: str
    consultation: str | None
    section: str | None
    date: str
    language: str
    score: float


class SearchResults(BaseModel):
    query: str
    page: int
    per_page: int
    total: int
    total_is_estimate: bool = Field(
        default=False, description=str(_l("True when 'total' is an estimate: too many results to count them all."))
    )
    results: list[SearchResult]


class Index(BaseModel):
    name: str
    version: str
    openapi: str
    documentation: str
    consultations: str
    authentication: str


# ---- writing ------------------------------------------------------------------------------------


class CommentIn(Input):
    body: Annotated[Text, Field(min_length=1, max_length=20_000, description=str(_l("Markdown.")))]
    section_key: Key | None = Field(None, description=str(_l("The section commented on; none for the whole consultation.")))
    quote: Annotated[Text, Field(max_length=2_000)] | None = Field(
        None, description=str(_l("Words of the section, exactly as published: makes the comment an annotation."))
    )
    start: Annotated[int, Field(ge=0, le=10_000_000)] | None = Field(
        None, description=str(_l("Where the quote starts in the section's `plain_text`."))
    )
    end: Annotated[int, Field(ge=0, le=10_000_000)] | None = Field(None, description=str(_l("Where it ends.")))


class ReplyIn(Input):
    body: Annotated[Text, Field(min_length=1, max_length=20_000, description=str(_l("Markdown.")))]


class AnnotationIn(Input):
    body: Annotated[Text, Field(min_length=1, max_length=20_000, description=str(_l("Markdown.")))]
    section_key: Key
    quote: Annotated[Text, Field(min_length=1, max_length=2_000, description=str(_l("Words of the section, exactly as published.")))]
    start: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    end: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class AmendmentIn(Input):
    section_key: Key
    rationale: Annotated[Text, Field(min_length=1, max_length=20_000, description=str(_l("Why: Markdown.")))]
    proposed_text: Annotated[Text, Field(max_length=100_000)] | None = Field(None, description=str(_l("The section's whole new text.")))
    quote: Annotated[Text, Field(max_length=2_000)] | None = Field(None, description=str(_l("Or a passage of the section…")))
    replacement: Annotated[Text, Field(max_length=100_000)] | None = Field(
        None, description=str(_l("…and what replaces it (empty: delete it)."))
    )


class VoteIn(Input):
    value: Literal["support", "oppose", "abstain", "agree", "disagree", "pass"] = Field(
        description=str(_l("support, oppose or abstain on an amendment or a section; agree, disagree or pass on a statement."))
    )
    contribution_id: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = Field(None, description=str(_l("An amendment or a statement…")))
    section_key: Key | None = Field(None, description=str(_l("…or a section of the current version.")))


class Vote(BaseModel):
    value: str
    contribution_id: int | None
    section_key: str | None


class ReportIn(Input):
    reason: Literal["spam", "offensive", "off_topic", "personal_data", "other"]
    detail: Annotated[Text, Field(max_length=2_000)] = Field("", description=str(_l("What is wrong with it (needed for `other`).")))


class Report(BaseModel):
    contribution_id: int
    hidden: bool = Field(description=str(_l("Whether the contribution is now hidden, waiting for a moderator.")))


class PublishIn(Input):
    note: Annotated[Text, Field(max_length=20_000)] = Field("", description=str(_l("The change note: what changed and why.")))
    text: Annotated[Text, Field(min_length=1, max_length=2_000_000)] | None = Field(
        None, description=str(_l("The new version's whole text in Markdown; without it, the draft written on the site is published."))
    )


class StateIn(Input):
    transition: Literal["open", "close", "reopen", "conclude"]
    closes_at: AwareDatetime | None = Field(None, description=str(_l("For `reopen`: the new closing time (with its time zone).")))


class AnswerIn(Input):
    decision: Literal["accepted", "accepted_in_part", "not_accepted", "out_of_scope"]
    reason: Annotated[Text, Field(min_length=1, max_length=20_000)]


class ModerationIn(Input):
    action: Literal["approve", "hide", "restore"]
    reason: Annotated[Text, Field(max_length=500)] = Field(
        "", description=str(_l("Needed to hide: shown in its place and in the public log."))
    )


class Moderated(BaseModel):
    contribution_id: int
    moderation_state: str
