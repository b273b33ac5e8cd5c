"""The demo: a real policy that went through public comment, and a user for each role.

The text is the US Federal Source Code Policy (CC0), draft of March 2016 and final policy
M-16-21 of August 2016, shipped in ``consult/demo_data/`` so a fresh clone needs nothing else.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from consult import demo_groups
from consult.accounts.models import Organisation, Role, User
from consult.accounts.services import _new_organisation, create_user, grant_role
from consult.amendments import explanations
from consult.amendments import services as amendments
from consult.attachments import services as attachments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db, utcnow
from consult.moderation import services as moderation
from consult.notifications import delivery
from consult.notifications import services as notifications
from consult.notifications.models import Delivery, Event, EventKind, Notification
from consult.policies import services as policies
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Transition
from consult.questionnaires import services as questionnaires
from consult.questionnaires.services import QuestionInput
from consult.voting import services as voting

POLICY_DIR = Path(__file__).parent / "demo_data" / "federal-source-code-policy"
DEMO_PASSWORD = "demo-password-1"  # demo only; printed on the console by `consult demo`
ORGANISATION_SLUG = "omb"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role | None = None
    site_admin: bool = False

    @property
    def role_label(self) -> str:
        if self.site_admin:
            return "site admin"
        return f"{self.role.value} (OMB)" if self.role else "citizen"


DEMO_USERS = [
    DemoUser("admin@demo.consult.example", "Sam Site-Admin", site_admin=True),
    DemoUser("orgadmin@demo.consult.example", "Olu Org-Admin", Role.ADMIN),
    DemoUser("author@demo.consult.example", "Alex Author", Role.AUTHOR),
    DemoUser("moderator@demo.consult.example", "Mo Moderator", Role.MODERATOR),
    DemoUser("citizen@demo.consult.example", "Chris Citizen"),
    DemoUser("citizen2@demo.consult.example", "Dana Citizen"),
]


# The 2016 draft asked for comments through GitHub issues, pull requests or an email to OMB. In the
# demo the comment happens in Consult, so that page is left out: it would send people elsewhere, and
# it holds the only email address in the text (the open record carries none). The rest is verbatim.
# A translation's page names the section by its key ({#instructions-for-public-comment}).
LEFT_OUT = re.compile(
    r"^## (?:Instructions for Public Comment|[^\n]*\{#instructions-for-public-comment\})[ \t]*\n.*?(?=^### )", re.MULTILINE | re.DOTALL
)

#: The open round's text in other languages: a folder beside the original's with the same file
#: names, each heading naming the original section's key. Published with it when the folder is there.
TRANSLATIONS = {"fr": "v1-draft-2016-04-fr"}


def policy_files(version_folder: str) -> list[tuple[str, str]]:
    """The policy's Markdown files, verbatim."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted((POLICY_DIR / version_folder).glob("*.md"))]


def demo_policy_files(version_folder: str) -> list[tuple[str, str]]:
    """The policy's Markdown files as the demo publishes them: without the comment instructions."""
    files = []
    for name, text in policy_files(version_folder):
        text, left_out = LEFT_OUT.subn("", text)
        if name == "01-index.md" and left_out != 1:
            raise RuntimeError(f"{version_folder}/{name}: the 'Instructions for Public Comment' page was not found")
        files.append((name, text))
    return files


def load_demo() -> bool:
    """Load the demo once; returns False when it is already there."""
    if db.session.scalar(select(Organisation.id).where(Organisation.slug == ORGANISATION_SLUG)) is not None:
        return False
    omb = _new_organisation(
        slug=ORGANISATION_SLUG,
        name="Office of Management and Budget (demo)",
        description="A demonstration organisation. The policy texts are real: the US Federal Source Code Policy, public domain (CC0).",
    )
    users: dict[str, User] = {}
    for demo in DEMO_USERS:
        user = create_user(email=demo.email, password=DEMO_PASSWORD, display_name=demo.name, site_admin=demo.site_admin)
        policies.record_agreement(user)  # as if they had signed up: they sign in without the terms step
        if demo.role:
            grant_role(omb, user, demo.role)
        users[demo.email] = user
    author = users["author@demo.consult.example"]
    now = utcnow()

    open_round = proposals.create_consultation(
        omb,
        actor=author,
        slug="federal-source-code-policy",
        title="Federal Source Code Policy",
        summary=(
            "A draft policy to make custom code paid for by the Federal Government reusable across agencies, "
            "and to release a share of it to the public as open source software.\n\n"
            "We especially want your views on the **pilot program**: should agencies release at least 20 percent "
            "of new custom code, or should the Government be *open source by default*?"
        ),
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(days=45),
        licence="CC0-1.0",
    )
    proposals.import_markdown(open_round, demo_policy_files("v1-draft-2016-04"), actor=author)
    _translate(open_round, author)
    if "fr" in open_round.languages:  # its title and summary for the readers of the French text
        open_round.translations = {
            "fr": {
                "title": "Politique fédérale relative au code source",
                "summary": (
                    "Un projet de politique pour que le code sur mesure payé par le gouvernement fédéral puisse être réutilisé "
                    "par toutes les agences, et qu'une part en soit publiée sous forme de logiciel libre.\n\n"
                    "Nous voulons surtout votre avis sur le **programme pilote** : les agences doivent-elles publier au moins "
                    "20 % de leur nouveau code sur mesure, ou le gouvernement doit-il être *libre par défaut* ?"
                ),
            }
        }
    proposals.publish_version(open_round, actor=author)
    proposals.change_state(open_round, Transition.OPEN, actor=author)
    open_round.response_threshold = 3  # a small demo: three supporting votes call for an answer
    _discuss(open_round, users)
    _discuss_in_french(open_round, users)
    _amend_open_round(open_round, users)
    _attach_summary_sheet(open_round, author)  # issue 21: a PDF attached, in the record too
    _questionnaire_open_round(open_round, users)  # issue 21: a questionnaire with answers
    demo_groups.load_demo_groups(open_round, omb, password=DEMO_PASSWORD)  # issue 20: groups and calls to action

    past_round = proposals.create_consultation(
        omb,
        actor=author,
        slug="federal-source-code-policy-2016",
        title="Federal Source Code Policy: the 2016 round",
        summary=(
            "The public comment period on the 2016 draft closed on 18 April 2016. The final policy, "
            "memorandum M-16-21, followed on 8 August 2016. Compare the two versions to see what changed."
        ),
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=1),
        licence="CC0-1.0",
    )
    proposals.import_markdown(past_round, demo_policy_files("v1-draft-2016-04"), actor=author)
    proposals.publish_version(past_round, actor=author)
    past_round.opens_at, past_round.closes_at = now - timedelta(days=60), now + timedelta(days=1)
    proposals.change_state(past_round, Transition.OPEN, actor=author)
    _annotate_past_round(past_round, users)
    past_amendments = _amend_past_round(past_round, users)
    proposals.change_state(past_round, Transition.CLOSE, actor=author)
    _answer_past_round(past_amendments, author)
    # Version 2 starts from the accepted amendments (applied and cited), then takes the final
    # policy's whole text, which contains them: publishing it marks them incorporated.
    amendments.start_next_version(past_round, actor=author)
    proposals.import_markdown(past_round, demo_policy_files("v2-final-2016-08"), actor=author)
    _explain_past_round(past_round, author)
    proposals.publish_version(
        past_round,
        actor=author,
        note=(
            "Final policy (M-16-21). Procurement and Appendix B became the Three-Step Software Solutions "
            "Analysis; exceptions got their own section; the pilot now asks for at least 20 percent of new "
            "custom code to be released as open source each year."
        ),
    )
    _summarise_past_round(past_round, users, past_amendments)
    proposals.change_state(past_round, Transition.CONCLUDE, actor=author)
    _follow_and_notify(open_round, past_round, users)
    db.session.flush()
    return True


#: Why each section of the final policy changed, was added or was removed, as the author of version 2
#: says it (the two sections changed by accepted amendments cite them as well). "" marks a change as
#: editorial only.
PAST_ROUND_REASONS: dict[str, str] = {
    # removed
    "introduction-for-public-comment": "The request for comments ended with the comment period; the final policy does not carry it.",
    "federally-funded-custom-code-as-open-source-software": (
        "Its case for open source moved into the memorandum's introduction; section 5 is now a heading over the pilot "
        "and the community sections."
    ),
    "appendix-b-software-procurement-analysis": "Its diagram is replaced by the three steps written out in section 3.",
    # changed
    "introduction": "The draft's introduction became memorandum M-16-21 to the heads of departments and agencies.",
    "objectives": (
        "The objectives now require agencies to obtain rights to custom-developed code and to make it available across "
        "the Government, subject to limited exceptions."
    ),
    "scope-and-applicability": (
        "Plainer scope: the policy is not retroactive, exceptions are referred to section 6, and agencies are expected "
        "to issue internal policies."
    ),
    "software-procurement-considerations": (
        "Procurement considerations and Appendix B became one three-step analysis that agencies must conduct before "
        "paying for custom code, including the rights the pilot needs."
    ),
    "government-wide-code-reuse": "The section now introduces its two requirements, A and B, which became sections of their own.",
    "pilot-program": (
        "The pilot keeps at least 20 percent of new custom-developed code a year as open source, for the pilot's term, "
        "and now says how the share may be measured (lines of code, modules or cost) and what to release first."
    ),
    "membership-in-the-open-source-community": (
        "Renamed Participation; open development practices are spelled out: a minimum viable product, incremental "
        "releases, engaging with the community."
    ),
    "implementation": "Its paragraphs became sections 7.1 to 7.7; the heading stands over them.",
    "appendix-a-definitions": (
        "Definitions revised for the final policy: custom-developed code defined precisely, Code.gov and mixed source "
        "software added, derivative works dropped."
    ),
    # added
    "secure-rights-for-government-reuse-and-ensure-delivery-of": (
        "Requirement A of section 4: agencies must acquire rights for Government-wide reuse and receive the source code."
    ),
    "inventory-all-custom-developed-code-and-make-it-available": (
        "Requirement B of section 4: agencies must inventory their custom-developed code and make it available across the Government."
    ),
    "open-source-software": "",
    "exceptions-to-government-code-reuse": "The exceptions, a paragraph of the draft's Implementation, now have a section of their own.",
    "roles-and-responsibilities": "From the draft's Implementation: the roles of the CIO and others under FITARA.",
    "code-inventories-and-discovery": "From the draft's Implementation: agencies must update their code inventories within 120 days.",
    "code-gov": "The draft's Project Open Source, renamed Code.gov, to be launched within 90 days.",
    "code-repositories": "From the draft's Implementation: agencies should use existing repositories to share and release code.",
    "licensing": "Agencies must attach an open source licence to the code they release.",
    "agency-policy": "Each agency's CIO must write an agency-wide policy for these requirements within 90 days.",
    "accountability-mechanisms": "From the draft's Implementation: how OMB will assess each agency's progress.",
}


def _explain_past_round(consultation: Consultation, author: User) -> None:
    """Version 2 explains every change: by the amendments it cites, and in the author's words."""
    draft = consultation.draft_version
    for key, reason in PAST_ROUND_REASONS.items():
        explanations.explain_change(draft, key, actor=author, reason=reason, editorial=not reason)


def _follow_and_notify(open_round: Consultation, past_round: Consultation, users: dict[str, User]) -> None:
    """The citizens follow things and have notifications waiting, recorded and fanned out
    through the real services. An event the app's own receivers already recorded while the demo
    was built is not recorded twice."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    author = users["author@demo.consult.example"]
    for who, consultation, target in [
        (chris, open_round, notifications.CONSULTATION),
        (chris, open_round, notifications.section_target("pilot-program")),
        (dana, open_round, notifications.CONSULTATION),
        (chris, past_round, notifications.CONSULTATION),
        (dana, past_round, notifications.CONSULTATION),
    ]:
        notifications.follow(consultation, target, actor=who)

    def once(kind: EventKind, consultation: Consultation, **values) -> int | None:
        contribution, version = values.get("contribution"), values.get("version")
        known = select(Event.id).where(Event.kind == kind.value, Event.consultation_id == consultation.id)
        if contribution is not None:
            known = known.where(Event.contribution_id == contribution.id)
        if version is not None:
            known = known.where(Event.version_id == version.id)
        if db.session.scalar(known.limit(1)) is not None:
            return None
        return notifications.record_event(kind, consultation, **values)

    made: list[int | None] = []
    said = list(db.session.scalars(select(Contribution).where(Contribution.consultation_id == open_round.id).order_by(Contribution.id)))
    for c in said:
        if c.kind == "reply" and c.parent is not None and c.parent.author is not None:
            made.append(once(EventKind.REPLY, open_round, actor=c.author, recipient=c.parent.author, contribution=c))
        elif c.kind == "comment" and c.section_key:
            made.append(once(EventKind.NEW_COMMENT, open_round, actor=c.author, contribution=c))
        elif c.kind == "amendment":
            made.append(once(EventKind.NEW_AMENDMENT, open_round, actor=c.author, contribution=c))
    for c in db.session.scalars(
        select(Contribution).where(Contribution.consultation_id == past_round.id, Contribution.kind == "amendment")
    ):
        if c.amendment.decision:
            data = {"decision": c.amendment.decision, "reason": c.amendment.answer}
            made.append(once(EventKind.AMENDMENT_ANSWERED, past_round, actor=author, recipient=c.author, contribution=c, data=data))
        if c.amendment.incorporated_version is not None:
            version = c.amendment.incorporated_version
            made.append(once(EventKind.AMENDMENT_INCORPORATED, past_round, recipient=c.author, contribution=c, version=version))
    final = past_round.current_version
    made.append(once(EventKind.VERSION_PUBLISHED, past_round, actor=author, version=final, data={"version": final.number}))
    made.append(once(EventKind.CONCLUDED, past_round, actor=author))
    made.append(
        notifications.send_update(
            open_round,
            actor=author,
            subject="A public hearing on the pilot program",
            body=(
                "We will hold a public hearing on the **pilot program** before the consultation closes. "
                "Come and tell us how agencies should measure the share of code they release.\n\n"
                "The hearing will be streamed and its transcript published with the record."
            ),
        )
    )
    db.session.flush()
    # Fanned out now, as the worker would after the commit (which finds them done): these and the
    # events the app's own receivers recorded as the demo was built.
    for event_id in db.session.scalars(select(Event.id).where(Event.fanned_out_at.is_(None)).order_by(Event.id)).all():
        notifications.fan_out(event_id)
    _backstory_in_digests()


def _backstory_in_digests() -> None:
    """The demo's history happened before a newcomer arrives: rather than a message per event
    (ten at once for Chris, using up his day's cap), each person has the one daily digest a real
    site would have sent them, and the notifications wait unread on their page."""
    db.session.execute(
        update(Notification)
        .where(Notification.delivery == Delivery.IMMEDIATE.value, Notification.mailed_at.is_(None))
        .values(delivery=Delivery.DAILY.value)
        .execution_options(synchronize_session=False)
    )
    delivery.mail_digests(Delivery.DAILY, made_before=utcnow())


def _summarise_past_round(consultation: Consultation, users: dict[str, User], made: dict[str, Contribution]) -> None:
    """Moderation, themes and summaries, so the concluded round has an outcome page."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    mo = users["moderator@demo.consult.example"]
    posted = list(db.session.scalars(select(Contribution).where(Contribution.consultation_id == consultation.id).order_by(Contribution.id)))
    keep = next(c for c in posted if c.body.startswith("Please keep this sentence"))
    floor = next(c for c in posted if c.body.startswith("Twenty percent is a floor"))

    # A spam comment posted in the round, reported and hidden (the public log shows it).
    spam = made["spam"]
    for who in (chris, dana):
        moderation.report(spam, actor=who, reason="spam")
    moderation.act([spam], actor=mo, action="hide", reason="Advertising is not part of the consultation.", rule="spam")

    reuse = moderation.create_theme(consultation, actor=mo, name="Open source by default")
    community = moderation.create_theme(consultation, actor=mo, name="Communities and maintenance")
    accuracy = moderation.create_theme(consultation, actor=mo, name="Accuracy of the text")
    moderation.tag(reuse, [floor, made["default"]], actor=mo)
    moderation.tag(community, [keep, made["communities"]], actor=mo)
    moderation.tag(accuracy, [made["figures"], made["billions"]], actor=mo)
    moderation.write_summary(
        consultation,
        actor=mo,
        theme=reuse,
        summary=(
            f"Participants asked for code to be open by default rather than a 20 percent share [#{made['default'].id}], "
            f"and for the percentage to be read as a floor, not a goal [#{floor.id}]. The final policy keeps a pilot."
        ),
    )
    moderation.write_summary(
        consultation,
        actor=mo,
        theme=community,
        summary=(
            f"The paragraph on open source communities was welcomed [#{keep.id}]; one amendment made it plainer [#{made['communities'].id}]."
        ),
    )
    moderation.write_summary(
        consultation,
        actor=mo,
        theme=accuracy,
        summary=(f"Readers pointed out that the spending figures were out of date [#{made['figures'].id}]."),
    )
    moderation.write_summary(
        consultation,
        actor=mo,
        section_key="pilot-program",
        summary=(f"The pilot drew the most discussion: a default was preferred by the commenters [#{made['default'].id}] [#{floor.id}]."),
    )


def _translate(consultation: Consultation, author: User) -> None:
    """The open round's text in the languages it is translated into (``TRANSLATIONS``), each
    whole: a translation lacking a section would keep the version from being published."""
    for language, folder in TRANSLATIONS.items():
        if not (POLICY_DIR / folder).is_dir():
            continue
        proposals.import_markdown(consultation, demo_policy_files(folder), actor=author, language=language)
        if missing := proposals.missing_translations(consultation.draft_version).get(language):
            raise RuntimeError(f"{folder}: the translation lacks the sections {', '.join(missing)}")  # i18n: not shown


def _first_words(section_text: str, count: int) -> str:
    """The first words of a section's text: a quote that is there whatever the translation says."""
    return " ".join(section_text.split()[:count])


def _discuss_in_french(consultation: Consultation, users: dict[str, User]) -> None:
    """Comments written in French, on the French text when there is one: an annotation drawn on
    it (listed on the English text), a comment on a section and a reply."""
    if "fr" not in consultation.languages:
        return
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    version = consultation.current_version
    pilot = version.section_in("pilot-program", "fr")
    annotation = comments.post_comment(
        consultation,
        actor=dana,
        body=(
            "Le seuil de 20 % paraît bien modeste. Pourquoi ne pas publier par défaut tout le code sur mesure, "
            "sauf exception motivée et rendue publique ?"
        ),
        section_key=pilot.key,
        quote=_first_words(pilot.text, 12),
        text_language="fr",
    )
    comments.post_comment(
        consultation,
        actor=chris,
        body="Je partage cet avis : une liste publique des exceptions permettrait à chacun de vérifier.",
        parent=annotation,
        language="fr",
    )
    comments.post_comment(
        consultation,
        actor=chris,
        body=(
            "Merci pour cette traduction. Les objectifs gagneraient à préciser comment les agences mesureront "
            "la réutilisation du code entre elles."
        ),
        section_key="objectives",
        language="fr",
    )


def _discuss(consultation: Consultation, users: dict[str, User]) -> None:
    """A living consultation: annotations on passages, section comments, replies."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    alex, mo = users["author@demo.consult.example"], users["moderator@demo.consult.example"]

    def say(who, body, section=None, quote=None, parent=None):
        return comments.post_comment(consultation, actor=who, body=body, section_key=section, quote=quote, parent=parent)

    pilot = say(
        dana,
        "Why 20 percent? An agency could meet the target by releasing its least useful code. "
        "Open source **by default**, with documented exceptions, would be simpler to audit.",
        "pilot-program",
        "at least 20 percent of its newly-developed custom code each year as OSS",
    )
    reply = say(chris, "Agreed. A percentage of *what*, too: lines of code, projects, or spending?", parent=pilot)
    say(
        alex,
        "Thank you both. We are collecting views on how the share should be measured; please say which measure you would find fair.",
        parent=reply,
    )
    say(
        chris,
        "Yes, please. Default-open with a public list of exceptions is how several cities already work.",
        "introduction-for-public-comment",
        "\"open source by default\" approach",
    )
    say(
        dana,
        "This exemption is broad. Could agencies at least publish how many projects they exempt each year?",
        "scope-and-applicability",
        "Source code developed for National Security Systems",
    )
    rights = say(
        chris,
        "Contracts should require the Government to receive the source code and the rights to reuse it; otherwise "
        "this policy depends on each contracting officer remembering to ask.",
        "government-wide-code-reuse",
        "software created on behalf of the Government by third parties, such as private sector vendors, is subject to copyright protection",
    )
    say(
        mo,
        "A reminder to everyone: please keep replies on the topic of this section. Thanks for the thoughtful discussion so far.",
        parent=rights,
    )
    say(
        dana,
        "Communities need maintainers, and maintainers need time. Will agencies budget for maintaining what they release?",
        "membership-in-the-open-source-community",
        "Communities are critically important to the long term viability of open source projects",
    )
    say(chris, "How will agencies report progress towards the pilot target, and where will the public see it?", "implementation")
    say(dana, "Thank you for publishing the draft openly and in plain text. It made it easy to read and to comment on.")


def _annotate_past_round(consultation: Consultation, users: dict[str, User]) -> None:
    """Annotations on the 2016 draft, so the final policy shows them re-anchored."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    for who, section, quote, body in [
        (
            dana,
            "membership-in-the-open-source-community",
            "Communities are critically important to the long term viability of open source projects",
            "Please keep this sentence in the final policy.",
        ),
        (
            chris,
            "pilot-program",
            "at least 20 percent of its newly-developed custom code each year as OSS",
            "Twenty percent is a floor, not a goal; say so.",
        ),
        (
            dana,
            "introduction-for-public-comment",
            "We welcome your input on this innovative draft policy",
            "Will the answers to these questions be published with the final policy?",
        ),
        (
            chris,
            "scope-and-applicability",
            "Source code developed for National Security Systems",
            "Is this exemption still needed in the final text?",
        ),
    ]:
        comments.post_comment(consultation, actor=who, body=body, section_key=section, quote=quote)


def _amend_open_round(consultation: Consultation, users: dict[str, User]) -> None:
    """Open amendments with votes and co-supporters, a conflicting pair, and section votes."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    sam, olu, mo = users["admin@demo.consult.example"], users["orgadmin@demo.consult.example"], users["moderator@demo.consult.example"]

    def amend(who, section, quote, replacement, why):
        return amendments.propose_amendment(
            consultation, actor=who, section_key=section, rationale=why, quote=quote, replacement=replacement
        )

    by_default = amend(
        dana,
        "pilot-program",
        "Each covered agency shall release at least 20 percent of its newly-developed custom code each year as OSS.",
        "Each covered agency shall release all of its newly-developed custom code as OSS, unless an exception in this policy applies.",
        "Open source **by default**: a percentage invites agencies to release their least useful code.",
    )
    thirty = amend(
        chris,
        "pilot-program",
        "at least 20 percent",
        "at least 30 percent",
        "If we keep a percentage, make it ambitious. Thirty percent is what several cities already release.",
    )
    inventory = amend(
        chris,
        "implementation",
        "Within 120 days of the publication of this policy",
        "Within 60 days of the publication of this policy",
        "Four months is long for an inventory most agencies already keep for other reporting.",
    )
    amendments.co_support(by_default.amendment, actor=chris)
    amendments.co_support(inventory.amendment, actor=dana)
    for who, item, value in [
        (dana, by_default, "support"),
        (chris, by_default, "support"),
        (sam, by_default, "support"),
        (mo, by_default, "abstain"),
        (olu, by_default, "oppose"),
        (chris, thirty, "support"),
        (dana, thirty, "oppose"),
        (dana, inventory, "support"),
    ]:
        voting.cast_vote(consultation, actor=who, value=value, contribution=item)
    for who, key, value in [
        (chris, "pilot-program", "oppose"),
        (dana, "pilot-program", "oppose"),
        (sam, "pilot-program", "support"),
        (chris, "objectives", "support"),
        (dana, "objectives", "support"),
    ]:
        voting.cast_vote(consultation, actor=who, value=value, section_key=key)


def _amend_past_round(consultation: Consultation, users: dict[str, User]) -> dict[str, Contribution]:
    """Amendments to the 2016 draft, two of which the final policy took up word for word."""
    chris, dana = users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]
    sam, mo = users["admin@demo.consult.example"], users["moderator@demo.consult.example"]

    def amend(who, section, quote, replacement, why):
        return amendments.propose_amendment(
            consultation, actor=who, section_key=section, rationale=why, quote=quote, replacement=replacement
        )

    made = {
        "figures": amend(
            dana,
            "introduction",
            "more than $9 billion on software through more than 50,000 transactions",
            "more than $6 billion on software through more than 42,000 transactions",
            "The figures are out of date: the latest IT Dashboard data give about $6 billion and 42,000 transactions.",
        ),
        "communities": amend(
            chris,
            "membership-in-the-open-source-community",
            "Communities can be used to monitor",
            "Communities help monitor",
            "Plainer English: communities are not a tool to be used.",
        ),
        "default": amend(
            dana,
            "pilot-program",
            "Each covered agency shall release at least 20 percent of its newly-developed custom code each year as OSS.",
            "Each covered agency shall release all of its newly-developed custom code as OSS, unless an exception applies.",
            "Open source by default, with documented exceptions.",
        ),
        "questions": amend(
            chris,
            "introduction-for-public-comment",
            "We are especially interested in your comments on considerations regarding the release of custom code as OSS.",
            "We welcome comments on every part of the policy, and especially on the release of custom code as OSS.",
            "The questions should not narrow the comment to the pilot.",
        ),
        "billions": amend(chris, "introduction", "more than $9 billion", "more than $9.2 billion", "A more precise figure."),
        "withdrawn": amend(
            dana, "objectives", "This policy will accomplish the following objectives:", "This policy has four objectives:", "Shorter."
        ),
    }
    made["spam"] = comments.post_comment(
        consultation, actor=sam, body="Cheap software licences at unbeatable prices!", section_key="objectives"
    )
    amendments.withdraw_amendment(made["withdrawn"].amendment, actor=dana)
    for who, key, value in [
        (chris, "figures", "support"),
        (sam, "figures", "support"),
        (mo, "figures", "support"),
        (dana, "communities", "support"),
        (chris, "default", "support"),
        (dana, "default", "support"),
        (sam, "default", "support"),
        (mo, "default", "oppose"),
        (dana, "questions", "oppose"),
        (dana, "billions", "abstain"),
    ]:
        voting.cast_vote(consultation, actor=who, value=value, contribution=made[key])
    return made


def _answer_past_round(made: dict[str, Contribution], author: User) -> None:
    for key, decision, reason in [
        ("figures", "accepted", "Thank you: the final policy uses the latest figures."),
        ("communities", "accepted", "Agreed, and changed."),
        (
            "default",
            "not_accepted",
            "The final policy keeps a pilot of at least 20 percent, evaluated after two years, before "
            "deciding on a default. We will publish the evaluation.",
        ),
        ("questions", "out_of_scope", "The introduction for public comment is not part of the policy and is not carried into it."),
        ("billions", "not_accepted", "Superseded by the updated figures of another amendment."),
    ]:
        amendments.answer_amendment(made[key].amendment, actor=author, decision=decision, reason=reason)


def summary_sheet_pdf() -> bytes:
    """A one-page PDF made for the demo (drawn with Pillow): the draft's title and its key points."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=34)
    lines = [
        "Federal Source Code Policy (draft, March 2016)",
        "Summary sheet made for the Consult demo",
        "",
        "1. Custom code paid for by the Government is reusable across agencies.",
        "2. A pilot: agencies release at least 20 percent of new custom code",
        "   as open source software.",
        "3. Agencies inventory their custom code and publish it on Code.gov.",
        "",
        "The policy text is a work of the US Government, public domain (CC0).",
    ]
    for number, line in enumerate(lines):
        draw.text((100, 120 + number * 60), line, fill="black", font=font)
    out = io.BytesIO()
    page.save(out, format="PDF", title="Federal Source Code Policy: summary sheet", resolution=150)
    return out.getvalue()


def _attach_summary_sheet(consultation: Consultation, author: User) -> None:
    attachments.upload_attachment(
        consultation,
        io.BytesIO(summary_sheet_pdf()),
        actor=author,
        filename="summary-sheet.pdf",
        description="Summary sheet of the draft policy (PDF, one page, made for the demo)",
    )


def demo_consultations() -> list[Consultation]:
    return list(db.session.scalars(select(Consultation).join(Organisation).where(Organisation.slug == ORGANISATION_SLUG)))


# ---- the questionnaire of the open round (issue 21) -------------------------------------------

#: People who only answer the questionnaire (not listed among the demo accounts).
QUESTIONNAIRE_RESPONDENTS = [
    ("pat@demo.consult.example", "Pat Participant"),
    ("robin@demo.consult.example", "Robin Resident"),
    ("sky@demo.consult.example", "Sky Developer"),
]


def _questionnaire_open_round(consultation: Consultation, users: dict[str, User]) -> None:
    """Five questions of different kinds, published, and answered by the two demo citizens and
    three more people, so the results page and the record's CSV files have something to show."""
    author = users["author@demo.consult.example"]
    for question in (
        QuestionInput(
            kind="agreement_scale",
            prompt="Custom code paid for by federal agencies should be open source by default.",
            required=True,
        ),
        QuestionInput(
            kind="single_choice",
            prompt="What share of new custom code should the pilot release as open source each year?",
            options=["20 percent, as drafted", "50 percent", "All of it, with listed exceptions"],
            required=True,
        ),
        QuestionInput(
            kind="multiple_choice",
            prompt="Which of these matter to you?",
            options=["Reuse across agencies", "Security", "Cost savings", "Public participation"],
        ),
        QuestionInput(
            kind="ranking",
            prompt="Rank what the policy should do first.",
            options=["Inventory the code", "Release code", "Build communities"],
        ),
        QuestionInput(
            kind="long_text",
            prompt="What else should the policy say?",
            help_text="Your words are published with your name, like a comment.",
        ),
    ):
        questionnaires.add_question(consultation, question, actor=author)
    questionnaire = questionnaires.publish_questionnaire(consultation, actor=author)
    people = [users["citizen@demo.consult.example"], users["citizen2@demo.consult.example"]]
    for email, name in QUESTIONNAIRE_RESPONDENTS:
        person = create_user(email=email, password=DEMO_PASSWORD, display_name=name)
        policies.record_agreement(person)
        people.append(person)
    scale, share, matters, ranking, words = questionnaire.questions
    answers = [  # (agreement 1-5, share, what matters, ranking order, words)
        (5, 2, [0, 3], [1, 0, 2], "Name the exceptions in public, with a reason for each."),
        (4, 1, [0, 1], [0, 1, 2], ""),
        (2, 0, [1], [0, 2, 1], "Security reviews must come before any release."),
        (5, 2, [0, 2, 3], [1, 2, 0], ""),
        (4, 1, [2], [0, 1, 2], ""),
    ]
    for person, (agreement, choice, chosen, order, text) in zip(people, answers, strict=True):
        ids = [o["id"] for o in ranking.options]
        questionnaires.submit_response(
            questionnaire,
            {
                scale.id: str(agreement),
                share.id: str(share.options[choice]["id"]),
                matters.id: [str(matters.options[i]["id"]) for i in chosen],
                ranking.id: {ids[i]: str(rank) for rank, i in enumerate(order, start=1)},
                words.id: text,
            },
            actor=person,
        )
