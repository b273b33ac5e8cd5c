"""The demo: a real policy that went through public comment, and a user for each role.

The text is the US Federal Source Code Policy (CC0), draft of March 2016 and final policy
M-16-21 of August 2016, shipped in ``consult/demo_data/`` so a fresh clone needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from consult.accounts.models import Organisation, Role, User
from consult.accounts.services import _new_organisation, create_user, grant_role
from consult.core.models import db, utcnow
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Transition

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


def policy_files(version_folder: str) -> list[tuple[str, str]]:
    folder = POLICY_DIR / version_folder
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.md"))]


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
    proposals.import_markdown(open_round, policy_files("v1-draft-2016-04"), actor=author)
    proposals.publish_version(open_round, actor=author)
    proposals.change_state(open_round, Transition.OPEN, actor=author)

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
    proposals.import_markdown(past_round, policy_files("v1-draft-2016-04"), actor=author)
    proposals.publish_version(past_round, actor=author)
    past_round.opens_at, past_round.closes_at = now - timedelta(days=60), now + timedelta(days=1)
    proposals.change_state(past_round, Transition.OPEN, actor=author)
    proposals.change_state(past_round, Transition.CLOSE, actor=author)
    proposals.import_markdown(past_round, policy_files("v2-final-2016-08"), actor=author)
    proposals.publish_version(
        past_round,
        actor=author,
        note=(
            "Final policy (M-16-21). Procurement and Appendix B became the Three-Step Software Solutions "
            "Analysis; exceptions got their own section; the pilot now asks for at least 20 percent of new "
            "custom code to be released as open source each year."
        ),
    )
    db.session.flush()
    return True


def demo_consultations() -> list[Consultation]:
    return list(db.session.scalars(select(Consultation).join(Organisation).where(Organisation.slug == ORGANISATION_SLUG)))
