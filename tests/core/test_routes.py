"""Every route is public by decision or closed: a new route must be added to one list here."""

import pytest
from werkzeug.routing import IntegerConverter

from consult.core.routing import is_public

#: Endpoints anyone may call without signing in. Adding one is a decision: say why in review.
PUBLIC = {
    "accounts.choose_language",
    # embeds other sites frame, and their oEmbed answers (consult/embeds): what the public sees
    "embeds.consultation",
    "embeds.section",
    "embeds.amendment",
    "embeds.statement",
    "embeds.oembed",  # the language switcher on every page (consult/core/i18n.py)
    "static",
    # the site's look on every page, and the invitation code form (consult/site)
    "site.theme",
    "site.logo",
    "site.organisation_logo",
    "site.invitation",
    "core.health",
    "core.ready",
    "accounts.sign_up",
    "accounts.sign_in",
    "accounts.confirm",
    "accounts.reset_request",
    "accounts.reset_password",
    "accounts.confirm_email_change",
    "accounts.resend_confirmation",
    "oidc.start",  # signing in with an identity provider: before anyone is signed in
    "oidc.callback",
    "oidc.new_account",  # "Create your account" after a first sign-in with a provider (a checked identity waits in the session)
    "two_factor.sign_in_step",  # a sign-in step: nobody is signed in yet (it finds the pending sign-in)
    "two_factor.sign_in_start",  # the same, for staff who must set up a second factor to sign in
    "proposals.index",
    # groups (issue 20, groups-core): the list, a group's page and its members (the page decides what a visitor sees)
    "groups.index",
    "groups.page",
    "groups.members",
    "proposals.organisation",
    "proposals.consultation",
    "proposals.version",
    # calls to action (issue 20, calls helper): a call's page and its calendar file, public like its consultation
    "calls.page",
    "calls.calendar",
    "proposals.diff",
    "api.consultations",
    "api.consultation",
    "api.version",
    "api.annotations",
    "comments.section",
    "comments.consultation_comments",
    "comments.show",
    "comments.person",
    "comments.former_participant",
    "comments.section_discussion",  # the margin panel's fragment of comments.section: public, like it
    "amendments.index",
    "amendments.show",
    "api.amendments",
    "api.amendment",
    # the read API (issue 19): what anyone may read, as the pages; a token is optional (writes are not public)
    "api.index",
    "api.comments_list",
    "api.comment",
    "api.statements",
    "api.opinion_map",
    "api.themes",  # themes and summaries once published with the outcome (empty before)
    "api.openapi",  # the API's OpenAPI description, and its documentation page
    "api.docs",
    "record.download",
    "moderation.log",
    "outcome.show",
    "search.results",
    "search.api",
    "voting.statements_list",
    "voting.opinion_map",
    "voting.opinion_map_status",  # the map page's script asks it, like the map: public
    "notifications.updates",  # an organisation's updates on a public consultation are public, like it
    "notifications.unsubscribe",
    "policies.show",  # the terms, privacy notice, accessibility statement and cookie notice, and their versions
    "policies.versions",
    "policies.version",
    "policies.agree",  # a sign-in step: nobody is signed in yet (it finds the person in the pending sign-in)
    "attachments.serve",  # an uploaded file, to whoever may see what it is attached to (issue 21)
    "questionnaires.answer",  # a public consultation's questions, readable like its text (answering needs sign-in)
    "questionnaires.results",  # counts without names: public with the consultation (see permissions._view_questionnaire_results)
    # firstfive (issue 17, point 4):
    "amendments.numbered",  # an amendment's page by its number in the consultation (A3), public like amendments.show
    "comments.keep_draft",  # a signed-out person's comment kept for their browser while they sign up; publishes nothing
    "notifications.unfollow_by_link",  # a message's "stop following" link: a signed token, no sign-in  # RFC 8058: a mail client posts it with no session; the signed token is the proof
    # Share previews, feeds and the sitemap: read by link previews, feed readers and crawlers, which never sign in
    "sharing.image",
    "sharing.comment",
    "feeds.consultations",
    "feeds.organisation",
    "feeds.consultation",
    "feeds.person",
    "feeds.sitemap",
    "feeds.robots",
    # issue 20 (drafts): a group's drafts and their history (a public group's are public; an
    # invite-only group's answer 404 to all but its members), and its chapters' positions
    "group_drafts.index",
    "group_drafts.edit",
    "group_drafts.history",
    "group_drafts.positions",
}


def concrete_url(rule) -> str:
    values = {}
    for name in rule.arguments:
        if name in (rule.defaults or {}):  # fixed by the rule (e.g. /terms is kind="terms")
            values[name] = rule.defaults[name]
            continue
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter) else "x"
    return rule.build(values, append_unknown=False)[1]


def rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_endpoint_is_classified(app):
    endpoints = set(app.view_functions)
    assert PUBLIC - endpoints == set(), "listed as public but no longer exists"
    for endpoint in endpoints:
        assert is_public(app, endpoint) == (endpoint in PUBLIC), (
            f"{endpoint}: marked public={is_public(app, endpoint)}, expected {endpoint in PUBLIC}"
        )


def test_closed_endpoints_send_anonymous_users_to_sign_in(app, client):
    closed = [r for r in rules(app) if r.endpoint not in PUBLIC]
    assert closed, "there are protected routes"
    for rule in closed:
        url = concrete_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if url.startswith("/api/"):
                assert response.status_code == 401, (method, url)
            else:
                assert response.status_code == 302, (method, url)
                assert "/signin?next=" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("url", ["/", "/healthz", "/readyz", "/signin", "/signup", "/reset", "/api/v1/consultations"])
def test_public_pages_answer_anonymous_users(client, url):
    assert client.get(url).status_code == 200
