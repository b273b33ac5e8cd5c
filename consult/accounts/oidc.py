"""Signing in with an identity provider (OpenID Connect): the protocol, and the accounts it links.

Any number of providers are configured by ``OIDC_PROVIDERS`` (name, issuer, client id and
secret, scopes, button label). Each is found by OpenID Connect Discovery at
``ISSUER/.well-known/openid-configuration``, whose ``issuer`` must be the configured one exactly.
The sign-in is the authorization-code flow with PKCE (S256), ``state`` and ``nonce``:

1. :func:`start` makes a fresh state, nonce and code verifier and the provider's authorization
   address; the caller (the view) keeps the three in the person's signed session cookie.
2. :func:`finish` checks the provider's answer against them: the state (constant-time), the
   RFC 9207 ``iss`` parameter when the provider sends one (a mix-up of providers is refused),
   exchanges the code with the verifier and the client's secret, and checks the ID token: its
   signature by the provider's published keys (an asymmetric algorithm the provider announces;
   never ``none`` nor a shared secret), ``iss``, ``aud`` (and ``azp``), ``exp``, ``iat`` and the
   nonce. Claims the ID token leaves out (``email``, ``name``) are read from the userinfo
   endpoint, kept only when it names the same subject.

Any failure raises :class:`SignInRefused` (a 400 page saying what did not match; nothing is
stored) or :class:`ProviderUnavailable` (503: the provider could not be reached or answered
nonsense).

Authlib's ``requests_client.OAuth2Session`` makes the authorization address with its PKCE
challenge and exchanges the code; joserfc (Authlib's own JOSE library) verifies the ID token.
Not Authlib's Flask integration: its registry is fixed when the app starts and keeps its own
session keys, where here providers are read from the settings on each request and every check
is in this module, one refusal each, with a test each (tests/oidc/).

Accounts are linked by the provider's (issuer, subject), never by an email address
(:class:`IdentityLink`). A first sign-in with an unknown subject creates an account
(:func:`create_account`): with the provider's address if the provider says it verified it (the
account is confirmed at once), else with an address the person types, confirmed by the usual
mailed link before the account can sign in. An address that already has an account is never
linked to the newcomer: a verified one is refused with the way to link it (sign in with the
password, then link the provider from the account page); a typed one is treated like sign-up
(the owner is told by mail, the page says the same as for a free address). Accounts made this
way have no usable password (:data:`UNUSABLE_PASSWORD_PREFIX`); a password reset gives them one.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet
from sqlalchemy import select

from consult.accounts import services
from consult.accounts.models import IdentityLink, User
from consult.core.errors import RuleViolation
from consult.core.mail import last_mail_failed, queue_mail
from consult.core.models import db, utcnow
from consult.site import services as site

#: Signature algorithms an ID token may use: asymmetric only (the client secret is no signing key here).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
#: Seconds of clock difference allowed between us and the provider for ``exp`` and ``iat``.
LEEWAY = 60
#: How long discovery documents and key sets are kept before asking the provider again.
CACHE_SECONDS = 3600
#: A stored password hash that no password matches (not a Werkzeug hash: it has no "$").
UNUSABLE_PASSWORD_PREFIX = "!"


class SignInRefused(RuleViolation):
    """The provider's answer does not prove who this is. Nothing is stored."""

    def __init__(self, message: str):
        super().__init__(message, status=400)


class ProviderUnavailable(RuleViolation):
    """``what`` went wrong: "unreachable", "issuer" (announced another), "endpoints" (announced
    none), "keys" (published unreadable ones)."""

    def __init__(self, provider: Provider, what: str = "unreachable"):
        name = provider.display
        messages = {
            "unreachable": _("%(provider)s could not be reached. Try again in a few minutes, or sign in another way.", provider=name),
            "issuer": _(
                "%(provider)s announced a different issuer than the one configured. Try again in a few minutes, or sign in another way.",
                provider=name,
            ),
            "endpoints": _(
                "%(provider)s did not announce its endpoints. Try again in a few minutes, or sign in another way.", provider=name
            ),
            "keys": _("%(provider)s published keys we cannot read. Try again in a few minutes, or sign in another way.", provider=name),
        }
        super().__init__(messages[what], status=503)


@dataclass(frozen=True)
class Provider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    label: str

    @property
    def display(self) -> str:
        """The provider as named to people: the label without "Sign in with" (its name when the
        settings give no label)."""
        label = self.label
        for prefix in ("Sign in with ", "Continue with ", "Log in with "):
            if label.startswith(prefix):
                return label[len(prefix) :]
        return label or self.name

    @property
    def button_label(self) -> str:
        """The sign-in button's words: the settings' label (the site's own words, as written),
        or "Sign in with NAME" in the interface's language."""
        return self.label or _("Sign in with %(provider)s", provider=self.name)


def providers() -> list[Provider]:
    """The configured providers, in the settings' order (``config.check_oidc_providers`` checked them)."""
    return [
        Provider(
            name=entry["name"],
            issuer=entry["issuer"],
            client_id=entry["client_id"],
            client_secret=entry.get("client_secret") or "",
            scopes=entry.get("scopes") or "openid email profile",
            label=entry.get("label") or "",
        )
        for entry in current_app.config.get("OIDC_PROVIDERS") or []
    ]


def provider_named(name: str) -> Provider | None:
    return next((p for p in providers() if p.name == name), None)


# --- discovery and keys --------------------------------------------------------------------------

_cache: dict[str, tuple[float, Any]] = {}


def clear_cache() -> None:
    _cache.clear()


def _get_json(provider: Provider, url: str, **kwargs) -> Any:
    try:
        response = requests.get(url, timeout=current_app.config["OIDC_HTTP_TIMEOUT"], **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError):
        raise ProviderUnavailable(provider) from None


def _cached(key: str, fetch, *, refresh: bool = False) -> Any:
    now = time.monotonic()
    if not refresh and (hit := _cache.get(key)) and hit[0] > now:
        return hit[1]
    value = fetch()
    _cache[key] = (now + CACHE_SECONDS, value)
    return value


def metadata(provider: Provider) -> dict[str, Any]:
    """The provider's discovery document, checked: it names the configured issuer exactly and
    the endpoints the flow needs."""

    def fetch() -> dict[str, Any]:
        document = _get_json(provider, provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(document, dict) or document.get("issuer") != provider.issuer:
            raise ProviderUnavailable(provider, "issuer")
        if not all(isinstance(document.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
            raise ProviderUnavailable(provider, "endpoints")
        return document

    return _cached("metadata " + provider.issuer, fetch)


def _keys(provider: Provider, document: Mapping[str, Any], *, refresh: bool = False) -> KeySet:
    def fetch() -> KeySet:
        try:
            return KeySet.import_key_set(_get_json(provider, document["jwks_uri"]))
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable(provider, "keys") from None

    return _cached("jwks " + document["jwks_uri"], fetch, refresh=refresh)


# --- the flow ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """Where to send the person, and what must come back: kept in their session meanwhile."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says this is, checked."""

    provider: str
    issuer: str
    subject: str
    name: str
    email: str | None
    email_verified: bool


def _session(provider: Provider, document: Mapping[str, Any], redirect_uri: str) -> OAuth2Session:
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method=method,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def start(provider: Provider, *, redirect_uri: str) -> Authorization:
    document = metadata(provider)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), generate_token(64)
    with _session(provider, document, redirect_uri) as client:
        url, _state = client.create_authorization_url(document["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
    return Authorization(url=url, state=state, nonce=nonce, code_verifier=verifier)


def finish(provider: Provider, *, params: Mapping[str, str], state: str, nonce: str, code_verifier: str, redirect_uri: str) -> Identity:
    """Check the provider's answer (the callback's query ``params``) against what :func:`start`
    made, and return who signed in."""
    if params.get("error"):
        raise SignInRefused(
            _(
                "%(provider)s did not sign you in (%(error)s). Try again, or sign in another way.",
                provider=provider.display,
                error=params["error"][:100],
            )
        )
    if not hmac.compare_digest(params.get("state", "").encode(), state.encode()):
        raise SignInRefused(
            _(
                "This answer from the identity provider does not belong to the sign-in started in this browser (its state differs). Start again."
            )
        )
    if "iss" in params and params["iss"] != provider.issuer:
        raise SignInRefused(_("This answer did not come from %(provider)s (wrong issuer). Start again.", provider=provider.display))
    code = params.get("code", "")
    if not code:
        raise SignInRefused(_("%(provider)s sent no authorization code. Start again.", provider=provider.display))
    document = metadata(provider)
    with _session(provider, document, redirect_uri) as client:
        try:
            token = client.fetch_token(
                document["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=current_app.config["OIDC_HTTP_TIMEOUT"],
            )
        except OAuthError as refused:
            raise SignInRefused(
                _("%(provider)s refused to complete the sign-in (%(error)s). Start again.", provider=provider.display, error=refused.error)
            ) from None
        except (requests.RequestException, ValueError):
            raise ProviderUnavailable(provider) from None
    if not isinstance(token.get("id_token"), str):
        raise SignInRefused(_("%(provider)s sent no ID token. Start again.", provider=provider.display))
    claims = verify_id_token(provider, document, token["id_token"], nonce=nonce)
    if document.get("userinfo_endpoint") and token.get("access_token") and not {"email", "name"} <= claims.keys():
        info = _get_json(provider, document["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"})
        if isinstance(info, dict) and info.get("sub") == claims["sub"]:
            claims = {**info, **claims}
    return _identity(provider, claims)


def verify_id_token(provider: Provider, document: Mapping[str, Any], id_token: str, *, nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, times and nonce are checked."""
    algorithms = [a for a in document.get("id_token_signing_alg_values_supported") or ["RS256"] if a in ALGORITHMS]
    try:
        try:
            decoded = jwt.decode(id_token, _keys(provider, document), algorithms=algorithms)
        except JoseError:  # perhaps signed with a key the provider published since: read its keys once more
            decoded = jwt.decode(id_token, _keys(provider, document, refresh=True), algorithms=algorithms)
    except (JoseError, ValueError, TypeError):
        raise SignInRefused(
            _("The ID token is not signed by %(provider)s (its signature does not verify). Start again.", provider=provider.display)
        ) from None
    claims = dict(decoded.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SignInRefused(_("The ID token has expired. Start again.")) from None
    except (InvalidClaimError, MissingClaimError) as wrong:
        raise SignInRefused(_claim_refusal(provider, wrong.claim if isinstance(wrong, InvalidClaimError) else str(wrong))) from None
    except JoseError:
        raise SignInRefused(_("The ID token is not valid at this time (check the clocks). Start again.")) from None
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audience) > 1 or "azp" in claims) and claims.get("azp") != provider.client_id:
        raise SignInRefused(_claim_refusal(provider, "azp"))
    return claims


def _claim_refusal(provider: Provider, claim: str) -> str:
    refusals = {
        "iss": _("The ID token was refused: it was not issued by %(provider)s (wrong issuer). Start again.", provider=provider.display),
        "aud": _("The ID token was refused: it was issued for another site (wrong audience). Start again."),
        "azp": _("The ID token was refused: it was issued for another site (wrong authorised party). Start again."),
        "nonce": _("The ID token was refused: it belongs to another sign-in (its nonce differs). Start again."),
        "sub": _("The ID token was refused: it names nobody. Start again."),
    }
    return refusals.get(claim) or _("The ID token was refused: its %(claim)s is missing or wrong. Start again.", claim=claim)


def _identity(provider: Provider, claims: Mapping[str, Any]) -> Identity:
    name = next((claims[k] for k in ("name", "preferred_username", "given_name", "nickname") if isinstance(claims.get(k), str)), "")
    email = claims.get("email")
    verified = claims.get("email_verified")
    return Identity(
        provider=provider.name,
        issuer=provider.issuer,
        subject=str(claims["sub"]),
        name=" ".join(name.split())[:80],
        email=services.normalise_email(email)[:254] if isinstance(email, str) and email.strip() else None,
        email_verified=verified is True or verified == "true",
    )


# --- the accounts it links -----------------------------------------------------------------------


def has_usable_password(user: User) -> bool:
    return not user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)


def link_of(issuer: str, subject: str) -> IdentityLink | None:
    return db.session.scalar(select(IdentityLink).where(IdentityLink.issuer == issuer, IdentityLink.subject == subject))


def links_of(user: User) -> list[IdentityLink]:
    return list(db.session.scalars(select(IdentityLink).where(IdentityLink.user_id == user.id).order_by(IdentityLink.id)))


def signed_in(identity: Identity) -> User | None:
    """The account linked to this identity (its link marked used), or None: a first sign-in.
    Raises ``services.AddressNotConfirmed`` for an account whose typed address is not confirmed yet."""
    link = link_of(identity.issuer, identity.subject)
    if link is None:
        return None
    if link.user.confirmed_at is None:
        raise services.AddressNotConfirmed(link.user, mail_failed=last_mail_failed(link.user.email))
    link.last_used_at = utcnow()
    link.provider = identity.provider
    return link.user


@dataclass(frozen=True)
class NewAccount:
    """What :func:`create_account` did: ``user`` is None when the typed address had an account
    (its owner was told by mail); ``confirmed``: the account may sign in at once."""

    user: User | None
    confirmed: bool


def create_account(identity: Identity, *, display_name: str, email: str, invitation: str | None = None) -> NewAccount:
    """A first sign-in with this identity creates an account linked to it (with an invitation
    when registration is by invitation, as signing up with a password)."""
    if link_of(identity.issuer, identity.subject) is not None:
        raise RuleViolation(_("An account is already linked to this sign-in. Sign in again."), status=409)
    if not site.registration_open() and not site.invitation_is_valid(invitation):
        site.use_invitation(invitation)  # refuses, with the reason
    display_name = services.check_display_name(display_name)  # the same rules as signing up
    email = services.normalise_email(email)
    verified = identity.email_verified and email == identity.email
    taken = db.session.scalar(select(User).where(User.email == email))
    if taken is not None:
        if verified:
            raise RuleViolation(
                _(
                    "An account already uses this address. Sign in to it with your password, then link this identity "
                    "from your account page; or use another address."
                ),
                status=400,
                field="email",
            )
        queue_mail(
            email,
            _("Someone tried to create a Consult account with your address"),
            _(
                "Someone (perhaps you) signed in with an identity provider and gave this email address, which already has "
                "a Consult account. Nothing was linked to your account.\n\nIf it was you, sign in with your password and link "
                "the provider from your account page. If it was not you, you can ignore this message."
            ),
        )
        return NewAccount(user=None, confirmed=False)
    site.use_invitation(invitation)
    user = User(
        email=email,
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16),
        display_name=display_name,
        confirmed_at=utcnow() if verified else None,
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(
        IdentityLink(user_id=user.id, provider=identity.provider, issuer=identity.issuer, subject=identity.subject, last_used_at=utcnow())
    )
    db.session.flush()
    if not verified:
        services.resend_confirmation(user.id)  # the usual confirmation link, to the typed address
    return NewAccount(user=user, confirmed=verified)


def link(user: User, identity: Identity) -> bool:
    """Link this identity to a signed-in person; False if it was linked to them already."""
    existing = link_of(identity.issuer, identity.subject)
    if existing is not None:
        if existing.user_id != user.id:
            raise RuleViolation(_("This identity already signs in to another Consult account."), status=409)
        return False
    db.session.add(IdentityLink(user_id=user.id, provider=identity.provider, issuer=identity.issuer, subject=identity.subject))
    db.session.flush()
    return True


def unlink(user: User, link_id: int) -> IdentityLink:
    """Remove one of the person's links, unless it is their last way to sign in."""
    links = links_of(user)
    target = next((each for each in links if each.id == link_id), None)
    if target is None:
        raise RuleViolation(_("You have no such sign-in."), status=404)
    if len(links) == 1 and not has_usable_password(user):
        raise RuleViolation(
            _(
                "This is your only way to sign in. Set a password first (Forgotten your password? on the sign-in page), "
                "or link another provider."
            ),
            status=409,
        )
    db.session.delete(target)
    db.session.flush()
    return target
