"""The policy texts that ship with Consult (version 1 of each), in Markdown.

They describe what Consult itself stores and does; a site's operator should name themselves and
add what their own servers do (e.g. a proxy's logs) by saving a new version at
``/admin/policies``. ``{placeholders}`` are filled from the site's settings when shown, so the
retention periods stated are the ones the jobs apply; saved versions are shown as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consult.policies.models import PolicyKind

TERMS = """\
These terms apply to everyone who uses this Consult site.

## Reading

Anyone can read the consultations published here without an account.

## Taking part

To comment, annotate, propose amendments, vote or report a contribution you need an account
with a confirmed email address. When you take part:

- **What you write is public**, under your public name, and is published under the licence
  shown on each consultation. It becomes part of the consultation's open record, which anyone
  can download and reuse.
- Write in good faith. Do not post anything unlawful, threats, harassment, personal data of
  other people, advertising or content you have no right to share.
- Moderators may hide contributions that break these rules, with a public reason, and may
  block an account from taking part in their organisation's consultations. Every moderation
  decision is listed in the public moderation log.
- The organisation running a consultation decides what to do with the contributions; it
  answers amendments and publishes the outcome.

## Your account

Keep your password to yourself. You can change your public name, email address and password,
download what the site holds about you and delete your account from your account page.

## Changes to these terms

When these terms change in a way that matters, you are asked to agree to the new version the
next time you sign in. Earlier versions stay readable on this site.
"""

PRIVACY = """\
This notice says what this Consult site stores about you, why, and for how long.

## What we store

- **Your account**: your email address (private, never shown), your public name (shown next to
  what you write), a hash of your password (never the password itself), when you confirmed
  your address, and which version of these policies you agreed to and when.
- **What you write**: comments, annotations, replies, amendments and statements, with their
  earlier revisions. These are public and part of each consultation's open record.
- **Your votes**: counted in public tallies. Who voted how is not published.
- **What you follow and your notification settings**, the notifications we made for you and the
  mail we sent you.
- **Reports you make** about contributions: moderators see them; reporters are never named in
  public.
- **Signed-in browsers**: a record of each session, so you can sign out everywhere.
- **Failed sign-ins**: the email address tried and the IP address it came from, to slow down
  password guessing.

## Why

To run the consultation you take part in (your account, your contributions and votes), to
keep it civil (reports and moderation) and to keep accounts safe (sessions and failed
sign-ins). We do not sell or share your data, use advertising or tracking, or load anything
from other sites.

## How long

- IP addresses are removed from our records after **{address_days} days**.
- Accounts whose email address was never confirmed are deleted after **{unconfirmed_days}
  days**, unless something was written with them.
- Your account and what you wrote are kept until you delete your account. When you do, you
  choose whether your published contributions stay under a pseudonym ("Former participant")
  or are withdrawn; everything else about you is erased.

## Your rights

From your account page you can see and correct your details, download everything we hold
about you, and delete your account. For anything else, contact the organisation that runs this
site.

## Changes to this notice

When this notice changes in a way that matters, you are shown the new version the next time
you sign in. Earlier versions stay readable on this site.
"""

ACCESSIBILITY = """\
We want everyone to be able to read and take part in consultations on this site.

## How accessible this site is

This site aims to meet the Web Content Accessibility Guidelines (WCAG) 2.1 at level AA:

- every page works with a keyboard and without JavaScript;
- pages fit a phone's screen and can be zoomed to 400% without scrolling sideways;
- every page is checked automatically with axe-core at desktop and phone widths before each
  release.

Automated checks do not find every problem. If something on this site is hard to use for you,
please tell the organisation that runs the site, saying which page and what you were trying to
do; we will try to fix it or give you the information another way.

## Known limitations

- Consultation texts and contributions are written by people, and may lack headings or
  describe things only visually.
- Downloads of the open record (JSON, CSV, Markdown) are data files rather than documents.
"""

COOKIES = """\
This site sets **one cookie**, `consult_session`, which is strictly necessary:

- it keeps you signed in and protects the forms you send against forgery;
- it is signed, so it cannot be altered, is sent only to this site, and is not readable by
  scripts;
- it is deleted when you close your browser, and a sign-in ends when you sign out or when the
  site ends it after a time without use.

There are no analytics, advertising or tracking cookies, and no content from other sites, so no
other site can set cookies through this one. Because the cookie is strictly necessary, we do
not ask for consent to it.
"""

DEFAULTS: dict[PolicyKind, str] = {
    PolicyKind.TERMS: TERMS,
    PolicyKind.PRIVACY: PRIVACY,
    PolicyKind.ACCESSIBILITY: ACCESSIBILITY,
    PolicyKind.COOKIES: COOKIES,
}


def default_text(kind: PolicyKind, config: Mapping[str, Any]) -> str:
    """Version 1 of ``kind``, with the retention periods of ``config`` filled in."""
    return DEFAULTS[kind].format(
        address_days=config["RETENTION_ADDRESS_DAYS"],
        unconfirmed_days=config["RETENTION_UNCONFIRMED_DAYS"],
    )
