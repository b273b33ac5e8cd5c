"""The demo's groups (issue 20): people acting together on the open round of the Federal Source
Code Policy, and calling others to act by a date.

- *Open Source Advocates Network* (public), a national body with two local chapters (Bay Area,
  Chicago). Its members wrote an amendment together (three revisions by three people); its
  coordinator submitted it on the network's behalf and two more members co-signed it, each
  signature with its signer's support vote. The Bay Area chapter submitted a comment that the
  network adopted as its position. The network calls everyone to support its amendment within
  a week.
- *Public Sector Software Workers, DC Branch* (invite-only): a union branch whose draft only
  its members see.
- OMB calls people to the public hearing on the pilot program, and some say they will come.

The groups' services are written beside this module; the demo builds the groups' rows with their
models, asks ``consult.permissions`` that every step is one a person could take, and goes
through the existing services for what they already own (the amendment, the comment, the votes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from consult.accounts.models import Organisation, User
from consult.accounts.services import create_user
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db, utcnow
from consult.core.text import render_markdown
from consult.groups.models import (
    CallKind,
    CallPledge,
    CallToAction,
    DraftKind,
    Group,
    GroupAdoption,
    GroupDraft,
    GroupDraftRevision,
    GroupMembership,
    GroupRole,
    GroupSubmission,
    GroupVisibility,
    Signature,
)
from consult.permissions import Action, authorize
from consult.policies import services as policies
from consult.proposals.models import Consultation
from consult.voting import services as voting

NETWORK_SLUG = "open-source-advocates"

#: People the groups need besides the demo's accounts and questionnaire respondents; they sign
#: in with the demo's password like everyone else in the demo.
GROUP_PEOPLE = [
    ("jordan@demo.consult.example", "Jordan Organiser"),
    ("kim@demo.consult.example", "Kim Maintainer"),
    ("lee@demo.consult.example", "Lee Engineer"),
]

#: Everyone the groups name, by a short handle: the demo's accounts, the questionnaire's
#: respondents and ``GROUP_PEOPLE``.
PEOPLE = {
    "chris": ("citizen@demo.consult.example", "Chris Citizen"),
    "dana": ("citizen2@demo.consult.example", "Dana Citizen"),
    "alex": ("author@demo.consult.example", "Alex Author"),
    "pat": ("pat@demo.consult.example", "Pat Participant"),
    "robin": ("robin@demo.consult.example", "Robin Resident"),
    "sky": ("sky@demo.consult.example", "Sky Developer"),
    "jordan": GROUP_PEOPLE[0],
    "kim": GROUP_PEOPLE[1],
    "lee": GROUP_PEOPLE[2],
}


@dataclass(frozen=True)
class DemoGroup:
    slug: str
    name: str
    description: str
    coordinator: str
    members: tuple[str, ...]
    visibility: GroupVisibility = GroupVisibility.PUBLIC
    parent: str | None = None


DEMO_GROUPS = [
    DemoGroup(
        NETWORK_SLUG,
        "Open Source Advocates Network",
        (
            "A national network of people who want the software their taxes pay for to be open: developers, "
            "librarians, teachers, civic technologists. We read government technology policy together and "
            "answer it together.\n\n"
            "Our local chapters meet monthly; anyone can join the network and any chapter. *(A demo group.)*"
        ),
        coordinator="chris",
        members=("dana", "pat", "jordan", "sky"),
    ),
    DemoGroup(
        "open-source-advocates-bay-area",
        "Open Source Advocates: Bay Area chapter",
        (
            "The network's chapter in the San Francisco Bay Area. Many of us maintain open source projects, "
            "so we look hardest at what happens to code after it is released. *(A demo group.)*"
        ),
        coordinator="sky",
        members=("robin", "kim"),
        parent=NETWORK_SLUG,
    ),
    DemoGroup(
        "open-source-advocates-chicago",
        "Open Source Advocates: Chicago chapter",
        (
            "The network's chapter in Chicago, working with the city's civic technology meetups on how "
            "public bodies buy and share software. *(A demo group.)*"
        ),
        coordinator="jordan",
        members=("pat", "lee"),
        parent=NETWORK_SLUG,
    ),
    DemoGroup(
        "public-sector-software-workers-dc",
        "Public Sector Software Workers, DC Branch",
        (
            "The Washington, DC branch of a union of developers, designers and testers who build software in "
            "and for federal agencies. We talk about how the policy changes our work: maintenance time, "
            "security reviews, credit for released code.\n\n"
            "Members join by invitation from a branch coordinator. *(A demo group.)*"
        ),
        coordinator="lee",
        members=("sky", "kim", "dana"),
        visibility=GroupVisibility.INVITE_ONLY,
    ),
]

#: The network's amendment to section 4: each revision replaces the section's sentence on
#: agreements with a stronger one (who saved it, the new sentence, the rationale).
REUSE_SECTION = "government-wide-code-reuse"
REUSE_SENTENCE = "Covered agencies that enter into agreements for the development of software should require unlimited data rights in accordance with this policy."
REUSE_REVISIONS = [
    (
        "chris",
        "Covered agencies that enter into agreements for the development of software must require unlimited data rights "
        "in accordance with this policy.",
        "\"Should\" leaves reuse to each contracting officer's memory. Make the rights a requirement of every agreement.",
    ),
    (
        "dana",
        "Covered agencies that enter into agreements for the development of software must require unlimited data rights "
        "in accordance with this policy, using the sample language for agreements provided as part of Project Open Source.",
        "\"Should\" leaves reuse to each contracting officer's memory. Make the rights a requirement of every agreement, "
        "written in the same words everywhere, so vendors know what to expect.",
    ),
    (
        "pat",
        "Covered agencies that enter into agreements for the development of software must require unlimited data rights "
        "in accordance with this policy, using the sample language for agreements provided as part of Project Open Source. "
        "An agreement that does not secure these rights must state why, and the reason must be published with the "
        "agency's inventory of custom-developed code.",
        "\"Should\" leaves reuse to each contracting officer's memory. Make the rights a requirement of every agreement, "
        "written in the same words everywhere, so vendors know what to expect.\n\n"
        "Where an agency cannot secure the rights, the public should be able to see why: a published reason is "
        "easier to check than a silent exception.",
    ),
]
REUSE_TITLE = "Make reuse rights a requirement of every software agreement"

#: The Bay Area chapter's comment on section 5.2, which the network adopts.
MAINTENANCE_SECTION = "membership-in-the-open-source-community"
MAINTENANCE_TITLE = "Budget for the people who maintain released code"
MAINTENANCE_REVISIONS = [
    (
        "sky",
        "Releasing code is the start of the work, not the end. Each covered agency should budget maintainer time "
        "for every project it releases, so that issues and contributions from the public are answered.",
    ),
    (
        "robin",
        "Releasing code is the start of the work, not the end. Each covered agency should budget maintainer time "
        "for every project it releases, so that issues and contributions from the public are answered.\n\n"
        "An agency that cannot maintain a project should say so in its repository and name a date after which it "
        "will no longer be answered, so others can take it over.",
    ),
]

#: The union branch's comment, still being written: only its members see it.
UNION_SECTION = "pilot-program"
UNION_TITLE = "Count maintenance time towards the pilot"
UNION_REVISIONS = [
    (
        "lee",
        "The pilot measures code released, not the work of keeping it safe. Agencies should report the staff time "
        "they give to released code alongside the 20 percent.",
    ),
    (
        "kim",
        "The pilot measures code released, not the work of keeping it safe. Agencies should report the staff time "
        "they give to released code alongside the 20 percent, and security reviews must come before any release.",
    ),
]

#: How many supporting votes the network's call asks for, and when it ends (days after the demo's now).
SUPPORT_GOAL = 25
SUPPORT_DAYS = 7
#: The public hearing OMB calls people to (days after the demo's now, at 15:00 UTC: 10 a.m. in Washington).
HEARING_DAYS = 14
HEARING_PLACE = "Eisenhower Executive Office Building, 1650 Pennsylvania Avenue NW, Washington, DC (and streamed online)"


def load_demo_groups(consultation: Consultation, organisation: Organisation, *, password: str) -> bool:
    """The groups, their drafts and submissions, signatures, and two open calls to action on
    ``consultation`` (the demo's open round, published by ``organisation``); people it needs who
    are not there yet sign in with ``password``. Returns False when the groups are there already."""
    if db.session.scalar(select(Group.id).where(Group.slug == NETWORK_SLUG)) is not None:
        return False
    now = utcnow()
    started = now - timedelta(days=3)  # the groups formed as the consultation opened
    people = {handle: _person(email, name, password) for handle, (email, name) in PEOPLE.items()}
    groups = {spec.slug: _group(spec, people, started) for spec in DEMO_GROUPS}
    network = groups[NETWORK_SLUG]

    amendment = _network_amendment(consultation, network, people, now)
    _chapter_comment_adopted(consultation, groups["open-source-advocates-bay-area"], network, people, now)
    _draft(
        consultation,
        groups["public-sector-software-workers-dc"],
        DraftKind.COMMENT,
        UNION_SECTION,
        UNION_TITLE,
        [(people[who], "", body) for who, body in UNION_REVISIONS],
        now - timedelta(hours=20),
    )
    # People who support the amendment without signing it: the call's progress counts them too.
    for who in ("robin", "kim"):
        voting.cast_vote(consultation, actor=people[who], value="support", contribution=amendment)
    _calls(consultation, organisation, network, amendment, people, now)
    db.session.flush()
    return True


def _person(email: str, name: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(email=email, password=password, display_name=name)
        policies.record_agreement(user)
    return user


def _group(spec: DemoGroup, people: dict[str, User], started: datetime) -> Group:
    coordinator = people[spec.coordinator]
    authorize(coordinator, Action.CREATE_GROUP)
    parent = db.session.scalar(select(Group).where(Group.slug == spec.parent)) if spec.parent else None
    group = Group(
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        description_html=str(render_markdown(spec.description)),
        visibility=spec.visibility.value,
        parent=parent,
        invite_code=secrets.token_urlsafe(24),
        created_by_id=coordinator.id,
        created_at=started,
        updated_at=started,
    )
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMembership(group_id=group.id, user_id=coordinator.id, role=GroupRole.COORDINATOR.value, joined_at=started))
    for number, who in enumerate(spec.members, start=1):
        joined = started + timedelta(hours=2 * number)
        db.session.add(GroupMembership(group_id=group.id, user_id=people[who].id, role=GroupRole.MEMBER.value, joined_at=joined))
    db.session.flush()
    return group


def _draft(
    consultation: Consultation,
    group: Group,
    kind: DraftKind,
    section_key: str,
    title: str,
    saves: list[tuple[User, str, str]],
    first_saved: datetime,
) -> GroupDraft:
    """A draft as its members left it, one revision per save (who, proposed text, body)."""
    first = saves[0][0]
    authorize(first, Action.EDIT_GROUP_DRAFT, group)
    draft = GroupDraft(
        group_id=group.id,
        consultation_id=consultation.id,
        kind=kind.value,
        section_key=section_key,
        title=title,
        created_by_id=first.id,
        created_at=first_saved,
        revision=len(saves),
    )
    db.session.add(draft)
    db.session.flush()
    for number, (who, proposed_text, body) in enumerate(saves, start=1):
        if number > 1:
            authorize(who, Action.EDIT_GROUP_DRAFT, draft)
        saved = first_saved + timedelta(hours=6 * (number - 1))
        draft.revisions.append(
            GroupDraftRevision(number=number, user_id=who.id, title=title, proposed_text=proposed_text, body=body, created_at=saved)
        )
        draft.proposed_text, draft.body, draft.updated_at = proposed_text, body, saved
    db.session.flush()
    return draft


def _submit(draft: GroupDraft, contribution: Contribution, coordinator: User, now: datetime) -> None:
    draft.submitted_contribution_id, draft.submitted_by_id, draft.submitted_at = contribution.id, coordinator.id, now
    db.session.add(
        GroupSubmission(
            contribution_id=contribution.id, group_id=draft.group_id, draft_id=draft.id, submitted_by_id=coordinator.id, submitted_at=now
        )
    )
    db.session.flush()


def _sign(contribution: Contribution, signer: User, group: Group, now: datetime) -> None:
    """A signature, and on an amendment its signer's support vote (one vote, whoever else they
    sign through or however they voted before)."""
    authorize(signer, Action.SIGN, contribution)
    db.session.add(Signature(contribution_id=contribution.id, user_id=signer.id, group_id=group.id, created_at=now))
    if contribution.amendment is not None:
        voting.cast_vote(contribution.consultation, actor=signer, value="support", contribution=contribution)
    db.session.flush()


def _network_amendment(consultation: Consultation, network: Group, people: dict[str, User], now: datetime) -> Contribution:
    section = consultation.current_version.section(REUSE_SECTION)
    saves = [
        (
            people[who],
            amendments.proposed_section_text(section, proposed_text=None, quote=REUSE_SENTENCE, replacement=sentence),
            rationale,
        )
        for who, sentence, rationale in REUSE_REVISIONS
    ]
    draft = _draft(consultation, network, DraftKind.AMENDMENT, REUSE_SECTION, REUSE_TITLE, saves, now - timedelta(days=2))
    chris = people["chris"]
    authorize(chris, Action.SUBMIT_GROUP_DRAFT, draft)
    amendment = amendments.propose_amendment(
        consultation, actor=chris, section_key=REUSE_SECTION, rationale=draft.body, proposed_text=draft.proposed_text
    )
    _submit(draft, amendment, chris, now)
    # Dana had already supported it on her own before signing: still one vote, one person.
    voting.cast_vote(consultation, actor=people["dana"], value="support", contribution=amendment)
    for who in ("chris", "dana", "pat"):
        _sign(amendment, people[who], network, now)
    return amendment


def _chapter_comment_adopted(consultation: Consultation, chapter: Group, network: Group, people: dict[str, User], now: datetime) -> None:
    draft = _draft(
        consultation,
        chapter,
        DraftKind.COMMENT,
        MAINTENANCE_SECTION,
        MAINTENANCE_TITLE,
        [(people[who], "", body) for who, body in MAINTENANCE_REVISIONS],
        now - timedelta(days=1),
    )
    sky = people["sky"]
    authorize(sky, Action.SUBMIT_GROUP_DRAFT, draft)
    comment = comments.post_comment(consultation, actor=sky, body=draft.body, section_key=MAINTENANCE_SECTION)
    _submit(draft, comment, sky, now)
    for who in ("sky", "robin", "kim"):
        _sign(comment, people[who], chapter, now)
    chris = people["chris"]
    authorize(chris, Action.ADOPT_SUBMISSION, network)
    db.session.add(GroupAdoption(group_id=network.id, contribution_id=comment.id, adopted_by_id=chris.id, adopted_at=now))
    db.session.flush()


def _calls(
    consultation: Consultation, organisation: Organisation, network: Group, amendment: Contribution, people: dict[str, User], now: datetime
) -> None:
    chris, alex = people["chris"], people["alex"]
    deadline = now + timedelta(days=SUPPORT_DAYS)
    number = amendment.amendment.number
    authorize(chris, Action.PUBLISH_CALL, network)
    body = (
        f"Our amendment A{number} makes reuse rights a requirement of every software agreement, and asks agencies to "
        "publish why when they cannot secure them. Read it, and support it if you agree: the more support it has, "
        "the more OMB must answer it.\n\n"
        "Members of the network can also sign it on the network's behalf."
    )
    db.session.add(
        CallToAction(
            consultation_id=consultation.id,
            group_id=network.id,
            kind=CallKind.SUPPORT.value,
            contribution_id=amendment.id,
            title=f"Support amendment A{number} by {deadline:%A} {deadline.day} {deadline:%B}",
            body=body,
            body_html=str(render_markdown(body)),
            goal=SUPPORT_GOAL,
            deadline=deadline,
            created_by_id=chris.id,
            created_at=now,
        )
    )

    starts = (now + timedelta(days=HEARING_DAYS)).replace(hour=15, minute=0, second=0, microsecond=0)
    authorize(alex, Action.PUBLISH_CALL, organisation)
    body = (
        "Come and tell us how agencies should measure the share of code the **pilot program** releases. "
        "Everyone may speak for three minutes; say you will come so we can plan the room.\n\n"
        "The hearing will be streamed and its transcript published with the record."
    )
    hearing = CallToAction(
        consultation_id=consultation.id,
        organisation_id=organisation.id,
        kind=CallKind.ATTEND.value,
        title="Come to the public hearing on the pilot program",
        body=body,
        body_html=str(render_markdown(body)),
        goal=40,
        deadline=starts,
        event_starts_at=starts,
        event_ends_at=starts + timedelta(hours=2),
        location=HEARING_PLACE,
        created_by_id=alex.id,
        created_at=now,
    )
    db.session.add(hearing)
    db.session.flush()
    for number, who in enumerate(("chris", "dana", "lee")):
        authorize(people[who], Action.PLEDGE, hearing)
        db.session.add(CallPledge(call_id=hearing.id, user_id=people[who].id, created_at=now + timedelta(minutes=number)))
    db.session.flush()
