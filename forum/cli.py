"""`flask --app wsgi forum …` commands: the same services the web pages use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db
from .models import Board, Role, User
from .services import ServiceError, accounts, admin, integrity

forum_cli = AppGroup("forum", help="Manage Kindred: users, boards, demo content, checks, backups.")


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@forum_cli.command("create-user")
@click.argument("username")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.MEMBER.value,
    show_default=True,
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of asking.",
)
def create_user_command(username: str, email: str, role: str, password_stdin: bool) -> None:
    """Create an account (its email address counts as confirmed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, email, password, role=role)
    except ServiceError as error:
        _fail(error.message)
    click.echo(f"Created {user.role} {user.username!r}.")


@forum_cli.command("create-board")
@click.argument("slug")
@click.argument("name")
@click.argument("description")
@click.option("--members-only", is_flag=True, help="Only logged-in members can read it.")
def create_board_command(slug: str, name: str, description: str, members_only: bool) -> None:
    """Create a topic board."""
    try:
        board = admin.create_board(slug, name, description, is_public=not members_only)
    except ServiceError as error:
        _fail(error.message)
    click.echo(f"Created board {board.name!r} at /b/{board.slug}.")


@forum_cli.command("demo")
def demo_command() -> None:
    """Fill an empty database with boards, members and conversations."""
    from .demo import DEMO_PASSWORD, fill_demo

    if db.session.scalar(sa.select(sa.func.count()).select_from(Board)) or db.session.scalar(
        sa.select(sa.func.count()).select_from(User)
    ):
        click.echo("The database already has boards or members; demo content was not added.")
        return
    logins = fill_demo()
    click.echo(f"Demo content added. Log in with any of these (password for all: {DEMO_PASSWORD}):")
    for username, role in logins:
        click.echo(f"  {username:<12} {role}")


@forum_cli.command("check")
@click.option(
    "--repair",
    is_flag=True,
    help="Fix what can be derived (counters, times, rows pointing at nothing), in one transaction.",
)
def check_command(repair: bool) -> None:
    """Report every inconsistency in the database; exit status 1 if there is any."""
    if not repair:
        problems = integrity.find_problems()
        for problem in problems:
            click.echo(str(problem))
        if problems:
            fixable = sum(problem.repairable for problem in problems)
            click.echo(
                f"{len(problems)} problem{'' if len(problems) == 1 else 's'} found; "
                f"--repair can fix {fixable} of them."
            )
            sys.exit(1)
        click.echo("The database is consistent.")
        return
    result = integrity.repair()
    for problem in result.repaired:
        click.echo(f"Repaired: {problem.line}")
    for problem in result.left:
        click.echo(f"Not repaired: {problem}")
    if result.left:
        click.echo(
            f"{len(result.repaired)} repaired; {len(result.left)} left for a person to decide."
        )
        sys.exit(1)
    click.echo(
        f"{len(result.repaired)} repaired; the database is consistent."
        if result.repaired
        else "The database is consistent."
    )


@forum_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an earlier backup at PATH.")
def backup_command(path: Path, overwrite: bool) -> None:
    """Copy the SQLite database to PATH while the forum keeps running."""
    from .backup import BackupRefused, backup_sqlite

    try:
        result = backup_sqlite(db.engine, path, overwrite=overwrite)
    except BackupRefused as refusal:
        _fail(str(refusal))
    click.echo(
        f"Backup written to {result.path} ({result.size / 1_048_576:.1f} MB, "
        "integrity check passed)."
    )


@forum_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from the published posts (in one transaction)."""
    from . import search

    def progress(done: int, total: int) -> None:
        click.echo(f"Indexed {done:,} of {total:,} posts…")

    count = search.reindex(progress)
    click.echo(f"The search index holds {count:,} published post{'' if count == 1 else 's'}.")


@forum_cli.command("erase-accounts")
@click.option(
    "--now",
    "now_text",
    metavar="ISO-TIME",
    default=None,
    help="Act as if it were this UTC time (for checks); default: now.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after erasing this many accounts.",
)
def erase_accounts_command(now_text: str | None, limit: int | None) -> None:
    """Erase the accounts whose deletion is due (run it from cron, e.g. hourly; safe to
    run twice or as several copies at once)."""
    from datetime import UTC, datetime

    from .services import leaving

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            _fail("--now takes a time like 2026-12-31T09:00")
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    report = leaving.erase_due(now, limit=limit)
    click.echo(
        f"Erased {report.erased} account{'' if report.erased == 1 else 's'}; "
        f"finished {report.posts_finished} post{'' if report.posts_finished == 1 else 's'}"
        " kept for moderators until now."
    )
    if report.failed:
        _fail(
            f"{report.failed} account{'' if report.failed == 1 else 's'} could not be "
            "erased (see the log); they are tried again on the next run."
        )


mail_cli = AppGroup("mail", help="Send the mail waiting in the outbox.")


@mail_cli.command("send")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Stop after this many messages."
)
def send_mail_command(limit: int | None) -> None:
    """Send the waiting mail over SMTP_CONNECTIONS connections; what the server does
    not take now stays for the next run."""
    from . import outbox

    report = outbox.send_waiting(limit, connections=current_app.config["SMTP_CONNECTIONS"])
    outbox.prune()
    click.echo(f"Sent {report.sent}, failed {report.failed}, waiting {report.left}.")


def init_app(app: Flask) -> None:
    from .digests.cli import digests_cli

    app.cli.add_command(forum_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(digests_cli)
