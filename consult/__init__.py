"""Consult: public consultation and policy co-creation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from consult.config import load_config
from consult.core.models import configure_sqlite, sqlite_write_intent
from consult.extensions import csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("CONSULT_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    load_config(app, config)

    if app.config["PROXY_FIX"]:
        n = int(app.config["PROXY_FIX"])
        # X-Forwarded-Host only on request: a proxy that passes the client's header on would let
        # anyone choose the address the app believes it has.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n if app.config["PROXY_FIX_HOST"] else 0, x_prefix=n)

    # Logged database errors would otherwise carry the rows' values: password hashes, addresses.
    # pool_pre_ping: a pooled connection the server dropped (a PostgreSQL restart) is replaced
    # before a request gets it, instead of failing that request. A SQLite file has no server to
    # drop it: no ping there (it would cost each transaction a statement for nothing).
    server = not str(app.config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "hide_parameters": True,
        "pool_pre_ping": server,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]))

    @app.before_request
    def mark_write_intent():
        # First of all hooks: the sign-in gate already reads the database, and the value must
        # not be the previous request's (a sync worker serves every request in one context).
        # A view marked ``routing.writes_last`` reads first and takes the write lock itself, last.
        sqlite_write_intent.set(request.method not in SAFE_METHODS and not routing.reads_first(app, request.endpoint))

    from consult.core import action_urls, cache, errors, framing, i18n, params, routing, templating

    cache.init_app(app)
    params.init_app(app)  # before the sign-in gate's hook and the blueprints' rules
    errors.init_app(app)
    routing.init_app(app)
    action_urls.init_app(app)  # a GET to a button's POST-only address: its page, not a 405
    i18n.init_app(app)
    framing.init_app(app)
    templating.init_app(app)
    _install_permission_helpers(app)

    from consult.accounts import oidc_views, twofactor_views
    from consult.accounts import views as accounts_views
    from consult.amendments import views as amendments_views
    from consult.api import views as api_views
    from consult.audit import views as audit_views
    from consult.comments import views as comments_views
    from consult.core import views as core_views
    from consult.embeds import views as embeds_views

    # Share previews, feeds and the sitemap (issue 19)
    from consult.feeds import views as feeds_views
    from consult.moderation import views as moderation_views
    from consult.notifications import sources as notification_sources  # noqa: F401  (its receivers and jobs)
    from consult.notifications import views as notifications_views
    from consult.outcome import views as outcome_views
    from consult.policies import views as policies_views  # its sign-in step and retention job too
    from consult.privacy import views as privacy_views
    from consult.proposals import views as proposals_views
    from consult.questionnaires import views as questionnaires_views  # issue 21: questionnaires
    from consult.record import views as record_views
    from consult.search import views as search_views
    from consult.search.indexing import init_app as init_search
    from consult.sharing import views as sharing_views
    from consult.site import views as site_views
    from consult.voting import views as voting_views
    from consult.webhooks import views as webhooks_views

    app.register_blueprint(core_views.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(oidc_views.bp)
    app.register_blueprint(twofactor_views.bp)  # and its sign-in step
    app.register_blueprint(proposals_views.bp)
    app.register_blueprint(comments_views.bp)
    app.register_blueprint(amendments_views.bp)
    app.register_blueprint(voting_views.bp)
    app.register_blueprint(moderation_views.bp)
    app.register_blueprint(outcome_views.bp)
    app.register_blueprint(record_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(notifications_views.bp)  # its services' and delivery's tables and jobs too
    app.register_blueprint(policies_views.bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(privacy_views.bp)  # its export and erasure jobs too
    # the JSON API (issue 19): its reads and writes on one blueprint, bearer tokens, its OpenAPI description
    from consult.api import auth as api_auth
    from consult.api import openapi as api_openapi  # noqa: F401  (its routes, on the API's blueprint)
    from consult.api import reads as api_reads  # noqa: F401
    from consult.api import write as api_write  # noqa: F401
    from consult.tokens import views as tokens_views

    api_auth.init_app(app)
    app.register_blueprint(api_views.bp)
    app.register_blueprint(tokens_views.bp)  # a person's and an organisation's API tokens
    app.register_blueprint(site_views.bp)  # and the site's settings for every page (name, colour, logo, zone)
    # issue 21: attachments, served files and their storage (folder or S3-compatible)
    from consult.attachments import views as attachments_views
    from consult.core.storage import init_storage

    init_storage(app)
    app.register_blueprint(attachments_views.bp)
    app.register_blueprint(questionnaires_views.bp)  # issue 21: questionnaires
    app.register_blueprint(sharing_views.bp)  # share previews: tags, images, a comment's page
    app.register_blueprint(feeds_views.bp)  # Atom feeds, sitemap.xml, robots.txt
    app.register_blueprint(embeds_views.bp)  # embeds other sites may frame, and oEmbed
    app.register_blueprint(webhooks_views.bp)  # an organisation's webhooks, their deliveries' jobs too
    # issue 20: groups, their shared drafts and signatures, calls to action
    from consult.groups import call_views as group_call_views
    from consult.groups import draft_views as group_draft_views
    from consult.groups import moderation_views as group_moderation_views
    from consult.groups import views as groups_views

    app.register_blueprint(groups_views.bp)
    app.register_blueprint(group_draft_views.bp)
    app.register_blueprint(group_call_views.bp)  # and the job that closes calls at their deadline
    app.register_blueprint(group_moderation_views.bp)

    from consult.cli import register_commands

    register_commands(app)
    from consult.core import jobs

    jobs.init_app(app)  # after the blueprints: their modules declare the jobs it registers
    init_search(app)  # after the jobs: it may queue rebuilding a missing index
    _install_request_hooks(app)
    return app


def _install_permission_helpers(app: Flask) -> None:
    """Templates ask ``can(Action.X, obj)`` instead of comparing states themselves."""
    from flask_login import current_user

    from consult.permissions import Action, can

    app.jinja_env.globals.update(Action=Action)

    @app.context_processor
    def permission_helpers():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}


def _install_request_hooks(app: Flask) -> None:
    from consult.core import framing

    @app.after_request
    def security_headers(response):
        headers = response.headers
        if framing.is_frameable(app, request.endpoint):  # an embed: framed by the sites the setting allows
            ancestors = framing.frame_ancestors(app)
            headers.setdefault(
                "Content-Security-Policy", CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
            )
        else:
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store" if request.method != "GET" else "private, no-cache")
        return response
