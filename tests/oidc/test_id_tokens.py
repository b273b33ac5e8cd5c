"""The ID token's checks, with tokens signed here (joserfc): signature, issuer, audience and
authorised party, expiry, nonce; and a refused token through the callback stores nothing."""

from __future__ import annotations

import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from sqlalchemy import func, select

from consult.accounts import oidc
from consult.accounts.models import IdentityLink, User
from consult.core.models import db

ISSUER = "https://id.example.gov"
CLIENT_ID = "consult"
NONCE = "the-nonce-of-this-sign-in"
KEY = RSAKey.generate_key(2048, parameters={"kid": "current"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "current"})  # same kid, another key
PROVIDER = oidc.Provider(name="gov", issuer=ISSUER, client_id=CLIENT_ID, client_secret="s", scopes="openid", label="Sign in with GOV ID")
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/auth",
    "token_endpoint": ISSUER + "/token",
    "jwks_uri": ISSUER + "/jwks",
    "id_token_signing_alg_values_supported": ["RS256"],
}


def claims(expires_in: int = 300, **changes) -> dict:
    """An ID token's claims, made when the test runs (``expires_in`` seconds from now); a change
    to None leaves the claim out."""
    now = int(time.time())
    values = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "person-1", "iat": now, "exp": now + expires_in, "nonce": NONCE, "name": "Sam Signed"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def signed(values: dict, key=KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "current"}, values, key)


@pytest.fixture
def published_keys(monkeypatch):
    """The provider publishes KEY (no network: its key set is the one answer)."""
    fetched = []

    def keys(provider, document, *, refresh=False):
        fetched.append(refresh)
        return KeySet([RSAKey.import_key(KEY.as_dict(private=False))])

    monkeypatch.setattr(oidc, "_keys", keys)
    return fetched


def verify(token: str) -> dict:
    return oidc.verify_id_token(PROVIDER, DOCUMENT, token, nonce=NONCE)


def test_a_good_token_gives_its_claims(published_keys):
    assert verify(signed(claims()))["sub"] == "person-1"
    assert verify(signed(claims(aud=[CLIENT_ID, "other"], azp=CLIENT_ID)))["sub"] == "person-1"
    assert verify(signed(claims(expires_in=-30)))["sub"] == "person-1"  # within the clock leeway


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"iss": "https://evil.example"}, "wrong issuer"),
        ({"iss": None}, "iss"),
        ({"aud": "another-client"}, "wrong audience"),
        ({"aud": ["another-client", "third"]}, "wrong audience"),
        ({"aud": [CLIENT_ID, "other"]}, "wrong authorised party"),  # several audiences: azp must name us
        ({"azp": "another-client"}, "wrong authorised party"),
        ({"expires_in": -3600}, "has expired"),
        ({"exp": None}, "exp"),
        ({"nonce": "another-sign-in"}, "nonce differs"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
    ],
)
def test_a_token_that_does_not_match_is_refused(published_keys, changes, said):
    with pytest.raises(oidc.SignInRefused) as refused:
        verify(signed(claims(**changes)))
    assert refused.value.status == 400 and said in refused.value.message


def test_a_bad_signature_is_refused_after_reading_the_keys_again(published_keys):
    with pytest.raises(oidc.SignInRefused, match="signature does not verify"):
        verify(signed(claims(), key=OTHER_KEY))
    assert published_keys == [False, True]  # a key rotated since the cache: asked once more, then refused


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_a_token_signed_with_a_shared_secret_or_not_at_all_is_refused(published_keys, alg):
    if alg == "none":
        header, payload, _ = signed(claims()).split(".")
        token = f"{header}.{payload}."
    else:
        token = signed(claims(), key=OctKey.import_key("s" * 32), alg="HS256")
    with pytest.raises(oidc.SignInRefused, match="signature"):
        verify(token)


def test_a_tampered_token_is_refused(published_keys):
    header, payload, signature = signed(claims()).split(".")
    other_payload = signed(claims(sub="someone-else")).split(".")[1]
    with pytest.raises(oidc.SignInRefused, match="signature"):
        verify(f"{header}.{other_payload}.{signature}")


def test_discovery_must_name_the_configured_issuer(app, monkeypatch):
    monkeypatch.setattr(oidc, "_get_json", lambda provider, url, **kw: {**DOCUMENT, "issuer": "https://elsewhere.example"})
    oidc.clear_cache()
    with pytest.raises(oidc.ProviderUnavailable) as refused:
        oidc.metadata(PROVIDER)
    assert refused.value.status == 503 and "different issuer" in refused.value.message
    oidc.clear_cache()


def test_a_token_from_another_issuer_is_refused_through_the_callback_and_nothing_is_stored(app, client, monkeypatch, published_keys):
    monkeypatch.setitem(app.config, "OIDC_PROVIDERS", [{"name": "gov", "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "s"}])
    monkeypatch.setattr(oidc, "metadata", lambda provider: DOCUMENT)
    answers = {}
    monkeypatch.setattr(OAuth2Session, "fetch_token", lambda self, url, **kw: answers["token"])
    users = db.session.scalar(select(func.count()).select_from(User))

    for values, said in [
        (claims(iss="https://evil.example"), "wrong issuer"),
        (claims(aud="another-client"), "wrong audience"),
        (claims(expires_in=-3600), "has expired"),
    ]:
        start = client.get("/signin/oidc/gov")
        assert start.headers["Location"].startswith(ISSUER + "/auth?")
        with client.session_transaction() as session:
            state, nonce = session["oidc_pending"]["state"], session["oidc_pending"]["nonce"]
        answers["token"] = {"access_token": "a", "token_type": "Bearer", "id_token": signed({**values, "nonce": nonce})}

        response = client.get(f"/signin/oidc/gov/callback?code=c&state={state}")

        assert response.status_code == 400 and said in response.text
        assert db.session.scalar(select(func.count()).select_from(User)) == users
        assert db.session.scalar(select(func.count()).select_from(IdentityLink)) == 0
        with client.session_transaction() as session:
            assert "oidc_identity" not in session and "_user_id" not in session
