"""Members' mail: what they follow, their digest and notice choices, and the page a
mailed link opens to change them without logging in."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup, escape

from .. import permissions, queries
from ..access import MEMBER, PUBLIC, access
from ..auth.views import back_to
from ..digests import schedule
from ..extensions import csrf, db, limiter
from ..forms import show_service_error
from ..http import parse_id
from ..models import Board, DigestFrequency, MailSettings
from ..services import PermissionDenied, ServiceError, follows, mail_settings
from .forms import ActionForm, MailSettingsForm

bp = Blueprint("mail_settings", __name__)

FOLLOWS_PER_PAGE = 20
# Counted per client address for the page and its buttons. The one-click POST comes
# from mail providers' servers, where many members share one address, so it is
# counted per link instead.
UNSUBSCRIBE_LIMIT = "20 per minute;200 per hour"
ONE_CLICK_LIMIT = "5 per minute"
ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058's form body


@bp.app_template_filter()
def in_zone(value: datetime | None, zone_name: str) -> Markup:
    """A <time> in the member's own timezone, naming the zone."""
    if value is None:
        return Markup("")
    local = value.astimezone(schedule.zone(zone_name))
    readable = f"{local:%A %-d %B %Y, %H:%M} ({zone_name.replace('_', ' ')})"
    return Markup(f'<time datetime="{escape(value.isoformat())}">{escape(readable)}</time>')


@bp.app_template_global()
def weekday_name(number: int) -> str:
    return schedule.WEEKDAYS[number]


# --- following ---------------------------------------------------------------------------


def _wants_to_follow() -> bool:
    action = request.form.get("action")
    if action not in ("follow", "unfollow"):
        abort(400, "Choose follow or unfollow.")
    return action == "follow"


def _digest_hint() -> str:
    settings = db.session.get(MailSettings, current_user.id)
    if settings is None or settings.digest == DigestFrequency.NONE:
        return " Choose a digest in your mail settings to hear about it by email."
    return ""


@bp.route("/b/<slug:slug>/follow", methods=["POST"])
@access(MEMBER)
def follow_board(slug: str):
    board = db.first_or_404(db.select(Board).where(Board.slug == slug))
    if not permissions.can_read_board(current_user, board):
        abort(404)
    following = _wants_to_follow()
    if ActionForm().validate_on_submit():
        if following:
            follows.follow_board(current_user, board)
            flash(
                f"You follow {board.name} now: its new topics will be in your digest."
                + _digest_hint(),
                "success",
            )
        else:
            follows.unfollow_board(current_user, board)
            flash(f"You no longer follow {board.name}.", "success")
    return redirect(back_to(url_for("boards.board", slug=board.slug)))


@bp.route("/t/<int:topic_id>/follow", methods=["POST"])
@access(MEMBER)
def follow_topic(topic_id: int):
    topic = queries.topic_with_board(topic_id)
    if topic is None or not permissions.can_see_topic(current_user, topic):
        abort(404)
    following = _wants_to_follow()
    if ActionForm().validate_on_submit():
        try:
            if following:
                follows.follow_topic(current_user, topic)
                flash(
                    "You follow this topic now: new replies will be in your digest."
                    + _digest_hint(),
                    "success",
                )
            else:
                follows.unfollow_topic(current_user, topic)
                flash(
                    f"You no longer follow “{topic.title}”. Replying to it will not "
                    "follow it again; you can follow it from its page.",
                    "success",
                )
        except PermissionDenied:
            abort(404)
    return redirect(back_to(url_for("boards.topic", topic_id=topic.id)))


# --- settings ------------------------------------------------------------------------------


@bp.route("/settings/mail", methods=["GET", "POST"])
@access(MEMBER)
def settings():
    saved = db.session.get(MailSettings, current_user.id)
    form = MailSettingsForm(obj=saved)
    if form.validate_on_submit():
        try:
            mail_settings.save_settings(
                current_user,
                digest=form.digest.data,
                digest_hour=form.digest_hour.data,
                digest_weekday=form.digest_weekday.data,
                timezone=form.timezone.data,
                notify_reply=form.notify_reply.data,
                notify_quote=form.notify_quote.data,
                notify_moderation=form.notify_moderation.data,
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash("Your mail settings are saved.", "success")
            return redirect(url_for("mail_settings.settings"))
    if request.method == "GET" and not mail_settings.has_chosen_timezone(current_user):
        # Nothing chosen yet: the browser may suggest its own zone (static/js/timezone.js).
        form.timezone.render_kw = {"data-suggest-browser-timezone": ""}
    page = follows.followed_page(
        current_user, parse_id(request.args.get("page")) or 1, FOLLOWS_PER_PAGE
    )
    return render_template(
        "mail_settings/settings.html",
        form=form,
        saved=saved,
        followed=page,
        paused=mail_settings.is_paused(saved),
        digest_due_now=mail_settings.digest_due_now(saved),
        action_form=ActionForm(formdata=None),
    ), 400 if form.errors else 200


@bp.route("/settings/mail/resume", methods=["POST"])
@access(MEMBER)
def resume():
    if ActionForm().validate_on_submit():
        mail_settings.resume_now(current_user)
        flash("Your mail is back on.", "success")
    return redirect(url_for("mail_settings.settings"))


# --- the page a mailed link opens ------------------------------------------------------------


def _is_one_click() -> bool:
    return request.method == "POST" and request.form.get(ONE_CLICK[0]) == ONE_CLICK[1]


def _not_one_click() -> bool:
    return not _is_one_click()


def _token_key() -> str:
    return "unsubscribe:" + (request.view_args or {}).get("token", "")


def _dead_link():
    """The same calm page for every link that does not work: forged, mangled or retired
    alike, so nothing tells whether an account is behind it."""
    return _private(render_template("mail_settings/link_dead.html"), 404)


def _private(body: str, status: int = 200):
    response = current_app.make_response((body, status))
    # The page is one member's; the link in its address is as good as a password.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
@access(PUBLIC)
@csrf.exempt  # a mail client's one-click POST has no session; the buttons are checked below
@limiter.limit(UNSUBSCRIBE_LIMIT, exempt_when=_is_one_click)
@limiter.limit(ONE_CLICK_LIMIT, key_func=_token_key, exempt_when=_not_one_click)
def unsubscribe(token: str):
    if _is_one_click():
        done = mail_settings.one_click_unsubscribe(token)
        if done is None:
            return _dead_link()
        return _private(render_template("mail_settings/one_click_done.html", done=done))
    if request.method == "POST" and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    found = mail_settings.read_unsubscribe_token(token)
    if found is None:
        return _dead_link()
    error = None
    if request.method == "POST":
        try:
            done = mail_settings.unsubscribe(token, request.form.get("choice", ""))
        except ServiceError as refusal:
            error = refusal.message
            found = mail_settings.read_unsubscribe_token(token)
            if found is None:
                return _dead_link()
        else:
            if done is None:
                return _dead_link()
            return _private(render_template("mail_settings/unsubscribe_done.html", done=done))
    settings, kind = found
    return _private(
        render_template(
            "mail_settings/unsubscribe.html",
            settings=settings,
            kind=kind,
            described=mail_settings.describe(settings, kind),
            less_often=mail_settings.less_often_offer(settings, kind),
            paused=mail_settings.is_paused(settings),
            error=error,
        ),
        400 if error else 200,
    )
