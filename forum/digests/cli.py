"""`flask --app wsgi digests send`: run it every 15 minutes (README: cron, systemd timer)."""

from __future__ import annotations

import gc

import click
from flask.cli import AppGroup

from . import run

digests_cli = AppGroup("digests", help="Email digests.")


@digests_cli.command("send")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print whose digests are due and what they would hold; send nothing.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many members.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=5000),
    default=run.BATCH_SIZE,
    show_default=True,
    help="Members claimed and built together.",
)
def send_command(dry_run: bool, limit: int | None, batch_size: int) -> None:
    """Send every digest that is due now (safe to run twice, or as several copies at once)."""
    # Building mail makes millions of short-lived objects: Python's collector, run every
    # 700 of them over everything the app has loaded, took a tenth of a run's time.
    # Leave what is loaded now out of its rounds, and let it run less often.
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    due = run.count_due()
    total = min(due, limit) if limit else due
    with click.progressbar(
        length=total, label="Digests", show_pos=True, item_show_func=lambda text: text
    ) as bar:

        def progress(report: run.RunReport, handled: int) -> None:
            bar.update(
                handled,
                f"sent {report.sent}, nothing new {report.empty}, "
                f"skipped {report.skipped}, failed {report.failed}",
            )

        report = run.send_due(
            limit=limit, dry_run=dry_run, batch_size=batch_size, progress=progress
        )
    if not dry_run:
        run.prune()
    for line in report.lines:
        click.echo(line)
    verb = "would send" if dry_run else "sent"
    click.echo(
        f"{report.members} members due: {verb} {report.sent}, nothing new for "
        f"{report.empty}, skipped {report.skipped}, failed {report.failed}."
    )
