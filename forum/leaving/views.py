"""Download my data; delete my account (scheduled, cancelled by logging in)."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from ..access import MEMBER, PUBLIC, access
from ..auth.views import LOGIN_LIMIT, _post_only
from ..extensions import limiter
from ..forms import show_service_error
from ..models import utcnow
from ..services import ServiceError, leaving
from . import export
from .forms import KEEP, DeleteAccountForm, DownloadForm

bp = Blueprint("leaving", __name__)

# A POST with the CSRF token, not a link: another site cannot start a download in the
# member's name (an <img> or a prefetch), and a browser never repeats it on its own.
# Building the archive reads everything the member has written: counted per address.
DOWNLOAD_LIMIT = "5 per minute;30 per hour"


@bp.route("/account/data", methods=["POST"])
@access(MEMBER)
@limiter.limit(DOWNLOAD_LIMIT)
def download():
    if not DownloadForm().validate_on_submit():
        flash("The download form had expired. Please try again.", "error")
        return redirect(url_for("auth.account"))
    now = utcnow()
    response = send_file(
        export.build_archive(current_user, now),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"kindred-data-{now:%Y-%m-%d}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/delete", methods=["GET", "POST"])
@access(MEMBER)
@limiter.limit(LOGIN_LIMIT, exempt_when=_post_only)  # the password can be guessed here
def delete_account():
    refusal = leaving.why_cannot_leave(current_user)
    form = DeleteAccountForm()
    if refusal is None and form.validate_on_submit():
        try:
            due = leaving.schedule_deletion(
                current_user, form.password.data, keep_posts=form.posts.data == KEEP
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            logout_user()
            session.clear()
            session["deletion_due_at"] = due.isoformat()
            return redirect(url_for("leaving.scheduled"))
    status = 400 if form.errors else 403 if refusal and request.method == "POST" else 200
    return render_template(
        "leaving/delete.html", form=form, refusal=refusal, grace_days=leaving.GRACE.days
    ), status


@bp.route("/account/deleted")
@access(PUBLIC)
def scheduled():
    """Where a member lands, logged out, having asked for their account to be deleted."""
    due = session.pop("deletion_due_at", None)
    return render_template(
        "leaving/scheduled.html", due=datetime.fromisoformat(due) if due else None
    )
