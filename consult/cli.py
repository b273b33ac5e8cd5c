"""The ``consult`` command: Flask's CLI (run, db, shell, routes) plus Consult's own commands."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from consult.core.errors import RuleViolation
from consult.core.models import db


def register_commands(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", prompt=True)
    @click.option("--name", "display_name", prompt="Public name")
    @click.option("--password", default=None, help="Prompted for when not given (safer: not in shell history).")
    @click.option("--site-admin", is_flag=True, help="May create organisations and act in all of them.")
    @click.option("--organisation", default=None, help="Slug of an organisation to join.")
    @click.option("--role", type=click.Choice(["author", "moderator", "admin"]), default=None)
    def create_user_command(email, display_name, password, site_admin, organisation, role):
        """Create a confirmed account, optionally with a role in an organisation."""
        from consult.accounts.models import Organisation, Role
        from consult.accounts.services import create_user, grant_role

        if password is None:
            password = getpass.getpass("Password: ")
        try:
            user = create_user(email=email, password=password, display_name=display_name, site_admin=site_admin)
            if organisation:
                org = db.session.scalar(select(Organisation).where(Organisation.slug == organisation))
                if org is None:
                    raise RuleViolation(f"No organisation with the short name {organisation!r}.")  # i18n: not shown
                grant_role(org, user, Role(role or "author"))
        except RuleViolation as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        click.echo(f"Created {user.display_name} <{user.email}>.")

    @app.cli.command("create-organisation")
    @click.argument("slug")
    @click.argument("name")
    def create_organisation_command(slug, name):
        """Create an organisation (site admins do this in the browser later)."""
        from consult.accounts.services import _new_organisation

        try:
            _new_organisation(slug=slug, name=name)
        except RuleViolation as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        click.echo(f"Created organisation {slug}.")

    @app.cli.command("tick")
    def tick_command():
        """Open and close consultations whose dates have come now (`consult worker` does it every minute)."""
        from consult.proposals.services import apply_schedule

        changed = apply_schedule()
        db.session.commit()
        click.echo(f"{changed} consultation(s) changed state.")

    @app.cli.command("worker")
    @click.option("--workers", type=int, default=None, help="Threads running jobs (default: CONSULT_JOBS_WORKERS, 2).")
    def worker_command(workers):
        """Run the background jobs: opening and closing by date, the opinion map, record bundles,
        theme suggestions, search-index rebuilds. Runs until stopped (Ctrl-C, SIGTERM)."""
        import logging

        from flask import current_app

        from consult.core.jobs import queue

        jobs = queue(current_app)
        jobs.register_declared()
        if jobs.huey.immediate:
            raise click.ClickException(
                "CONSULT_JOBS_IMMEDIATE is set: jobs run where they are queued, there is nothing for a worker to do."
            )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        click.echo(f"Consult worker: {len(jobs.tasks)} jobs on {type(jobs.huey).__name__} {jobs.huey.name!r}.")
        consumer = jobs.huey.create_consumer(
            workers=workers or int(current_app.config["JOBS_WORKERS"]), worker_type="thread", periodic=True, check_worker_health=True
        )
        consumer.run()

    @app.cli.command("demo")
    @click.option("--quiet", is_flag=True, help="Do not print the demo accounts.")
    def demo_command(quiet):
        """Load the demo: an organisation, a user per role and the Federal Source Code Policy."""
        from consult.demo import DEMO_PASSWORD, load_demo

        created = load_demo()
        db.session.commit()
        if quiet:
            return
        click.echo("Demo loaded." if created else "Demo already loaded.")
        click.echo("Demo accounts (for trying Consult out only; never use these on a real site):")
        for email, role in created_accounts_listing():
            click.echo(f"  {role:<22} {email:<32} password: {DEMO_PASSWORD}")

    @app.cli.command("export")
    @click.argument("slug")
    @click.argument("target", metavar="DIR", type=click.Path(path_type=Path))
    @click.option("--zip", "as_zip", is_flag=True, help="Write DIR as a zip file instead of a folder.")
    @click.option(
        "--base-url",
        default=None,
        help="The site's address, for the links in the record (default: CONSULT_BASE_URL; one of them is needed).",
    )
    def export_command(slug, target, as_zip, base_url):
        """Write the open policy record of a public consultation into DIR, a new folder (a zip file with --zip)."""
        from flask import current_app

        from consult.core import links
        from consult.core.models import sqlite_write_intent
        from consult.proposals.services import get_visible_consultation
        from consult.record.export import export_to, read_from_one_snapshot

        # Every link of the record is built on the site's address: without it they would all
        # point at http://localhost, in files meant to be read away from the site.
        base_url = base_url or current_app.config.get("BASE_URL")
        if not base_url:
            raise click.UsageError(
                "The record links to the site's pages: set CONSULT_BASE_URL to the site's public address, "
                "or give it with --base-url https://consult.example.org. Nothing was written."
            )
        if not links.is_site_address(base_url):
            raise click.UsageError(
                f"The site's address must start with http:// or https:// and name a host, not {base_url!r}. Nothing was written."
            )
        token = sqlite_write_intent.set(False)  # a reader: SQLite's deferred BEGIN never blocks writers
        try:
            read_from_one_snapshot()
            consultation = get_visible_consultation(None, slug)
            if consultation is None:
                raise click.ClickException(f"No public consultation with the short name {slug!r}.")
            with links.addressed_as(base_url):  # else CONSULT_BASE_URL
                names = export_to(consultation, target, as_zip=as_zip)
        except FileExistsError as error:
            raise click.ClickException(str(error)) from None
        finally:
            sqlite_write_intent.reset(token)
        click.echo(f"Wrote the record of {slug} ({len(names)} files) to {target}.")

    @app.cli.command("import-polis")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--consultation", "slug", required=True, help="The consultation to import the statements and votes into.")
    def import_polis_command(folder, slug):
        """Import a Pol.is open-data export (comments.csv and votes.csv or participants-votes.csv)."""
        from sqlalchemy import select

        from consult.core.errors import RuleViolation
        from consult.proposals.models import Consultation
        from consult.voting.polis import import_polis

        consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
        if consultation is None:
            raise click.ClickException(f"No consultation with the short name {slug!r}.")
        try:
            done = import_polis(folder, consultation)
        except RuleViolation as refused:
            raise click.ClickException(refused.message) from None
        db.session.commit()
        click.echo(f"Imported {done.statements} statements, {done.votes} votes by {done.participants} participants into {slug}.")

    @app.cli.command("opinion-map")
    @click.argument("slug")
    @click.option("--json", "as_json", is_flag=True, help="Print the map as JSON.")
    def opinion_map_command(slug, as_json):
        """Compute the opinion map of a consultation now, store it and print it."""
        import json

        from consult.proposals.services import get_visible_consultation
        from consult.voting.polis import participant_of
        from consult.voting.statements import compute_map

        consultation = get_visible_consultation(None, slug)
        if consultation is None:
            raise click.ClickException(f"No public consultation with the short name {slug!r}.")
        data = compute_map(consultation)
        db.session.commit()
        for group in data["groups"]:  # imported participants by their Pol.is ids
            group["participants"] = [participant_of(p) for p in group["participants"]]
        if as_json:
            click.echo(json.dumps({k: v for k, v in data.items() if k != "positions"}, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(f"{data['k']} groups: " + ", ".join(f"{len(g['participants'])} people" for g in data["groups"]))

    @app.cli.command("reindex")
    @click.option("--background", is_flag=True, help="Queue the rebuild for `consult worker` instead of running it here.")
    def reindex_command(background):
        """Rebuild the search index from the database (what the public may read)."""
        from flask import current_app

        from consult.core.models import sqlite_write_intent
        from consult.search.documents import count_documents
        from consult.search.indexing import rebuild_now, request_rebuild

        if background:
            queued = request_rebuild(current_app)
            click.echo("The rebuild is queued: `consult worker` runs it." if queued else "A rebuild is queued already.")
            return

        token = sqlite_write_intent.set(False)  # a reader of the database
        try:
            with click.progressbar(length=count_documents(db.session), label="Indexing", show_pos=True) as bar:
                count = rebuild_now(current_app, progress=bar.update)
        finally:
            sqlite_write_intent.reset(token)
        click.echo(f"Indexed {count} documents ({current_app.extensions['consult_search'].backend.name}).")

    @app.cli.command("backup")
    @click.argument("target", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(target):
        """Back the site up into DIR, a new folder: the database (SQLite's online backup, or
        pg_dump -Fc), instance/secret_key, uploads, and a manifest with checksums."""
        from flask import current_app

        from consult.backup import BackupError, backup

        try:
            manifest = backup(current_app, target)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Backed up the {manifest['database']} database (migration {manifest['alembic_revision']}) to {target}:")
        for name, entry in manifest["files"].items():
            click.echo(f"  {name}  {entry['bytes']} bytes  sha256 {entry['sha256'][:16]}…")
        for note in manifest["notes"]:
            click.echo(f"Note: {note}")
        click.echo("It holds the secret key and personal data: store it encrypted, readable by the site's operators only.")

    @app.cli.command("restore")
    @click.argument("source", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Replace a database that holds data.")
    def restore_command(source, force):
        """Restore a backup made by `consult backup` (stop the web server and the worker first):
        the database, the secret key and uploads; then migrate up and rebuild the search index."""
        from flask import current_app

        from consult.backup import BackupError, restore

        try:
            report = restore(current_app, source, force=force)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"Restored the {report.database} database from {source} (migration {report.revision_before}"
            f" -> {report.revision_after}); search index rebuilt: {report.documents_indexed} documents."
        )
        for note in report.notes:
            click.echo(f"Note: {note}")


def created_accounts_listing() -> list[tuple[str, str]]:
    from consult.demo import DEMO_USERS

    return [(u.email, u.role_label) for u in DEMO_USERS]
