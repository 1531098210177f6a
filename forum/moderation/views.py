"""The review queue and its items for moderators; reporting and notices for members."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from .. import permissions, queries, safety
from ..access import MEMBER, MODERATOR, VERIFIED, access
from ..extensions import db
from ..forms import show_service_error
from ..http import parse_id
from ..models import Board, Notice, Post, PostStatus, ReviewCategory, ReviewItem, utcnow
from ..services import (
    PermissionDenied,
    ServiceError,
    StaleItem,
    admin,
    moderation,
    posting,
    review_actions,
)
from ..services import notices as notice_service
from . import queue, review_item
from .forms import ActionForm, BulkForm, PlainForm, ReportForm

bp = Blueprint("moderation", __name__)

#: Each item of a bulk action is its own transaction; a page or two at a time.
BULK_MAX = 100


def _reason_choices() -> list[tuple]:
    return [SelectChoice("", "No template: my own words only")] + [
        SelectChoice(template.id, template.label) for template in admin.reason_templates()
    ]


def _filter_boards() -> list[Board]:
    boards = queries.board_list(current_user)
    return [board for board in boards if permissions.moderates(current_user, board.id)]


# --- the queue -------------------------------------------------------------------------


@bp.route("/review")
@access(MODERATOR)
def review_queue():
    kind = request.args.get("kind") or None
    kind = kind if kind in queue.KIND_LABELS else None
    board_id = parse_id(request.args.get("board"))
    page = queue.queue_page(
        current_user,
        current_app.config["REVIEW_ITEMS_PER_PAGE"],
        kind=kind,
        board_id=board_id,
        after=request.args.get("after"),
    )
    bulk_form = BulkForm(formdata=None)
    bulk_form.template.choices = _reason_choices()
    return render_template(
        "moderation/queue.html",
        page=page,
        numbers=queue.queue_numbers(current_user),
        kind=kind,
        board_id=board_id,
        boards=_filter_boards(),
        bulk_form=bulk_form,
        kind_labels=queue.KIND_LABELS,
        now=utcnow(),
    )


@bp.route("/review/bulk", methods=["POST"])
@access(MODERATOR)
def bulk():
    form = BulkForm()
    form.template.choices = _reason_choices()
    if not form.validate_on_submit():
        problems = [message for messages in form.errors.values() for message in messages]
        flash(f"Nothing was changed: {' '.join(problems)}", "error")
        return redirect(url_for("moderation.review_queue"))
    if len(form.selected.data or []) > BULK_MAX:
        flash(f"Select up to {BULK_MAX} items at a time.", "error")
        return redirect(url_for("moderation.review_queue"))
    selection = []
    for value in form.selected.data or []:
        item_id, _, version = value.partition(":")
        if (item_id := parse_id(item_id)) and (version := parse_id(version)):
            selection.append((item_id, version))
    if not selection:
        flash("Select at least one item first.", "warning")
        return redirect(url_for("moderation.review_queue"))
    try:
        result = moderation.decide_many(
            current_user,
            selection,
            form.action.data,
            template_id=form.template.data,
            reason=form.reason.data,
        )
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("moderation.review_queue"))
    verb = "approved" if form.action.data == "approve" else "rejected"
    parts = [f"{len(result.done)} {verb}."]
    if result.changed:
        parts.append(
            f"{len(result.changed)} had been changed by someone else and were left "
            "for you to look at again."
        )
    if result.skipped:
        parts.append(f"{len(result.skipped)} could not be {verb} as they stand.")
    flash(" ".join(parts), "success" if not (result.changed or result.skipped) else "warning")
    return redirect(url_for("moderation.review_queue"))


# --- one item ----------------------------------------------------------------------------


def _item_or_404(item_id: int) -> ReviewItem:
    item = review_item.load_item(item_id)
    if item is None:
        abort(404)
    return item


def _reviewable_or_404(item_id: int) -> ReviewItem:
    item = _item_or_404(item_id)
    if not permissions.can_review(current_user, item):
        abort(403)
    return item


def _action_form(item: ReviewItem, formdata=None) -> ActionForm:
    form = ActionForm(formdata=formdata) if formdata is not None else ActionForm(formdata=None)
    form.template.choices = _reason_choices()
    form.board.choices = [SelectChoice("", "Choose a board")] + [
        SelectChoice(board.id, board.name)
        for board in _filter_boards()
        if item.board_id is None or board.id != item.board_id
    ]
    if formdata is None:
        form.version.data = str(item.version)
        if item.post is not None:
            form.body.data = item.post.body_source
    return form


def _render_item(item: ReviewItem, form: ActionForm, status: int = 200, stale: str | None = None):
    detail = review_item.item_detail(item)
    return render_template(
        "moderation/item.html",
        detail=detail,
        item=item,
        form=form,
        stale=stale,
        actions=review_actions.available_actions(item),
        action_labels=review_actions.ACTIONS,
        claim_form=PlainForm(formdata=None),
        kind_labels=queue.KIND_LABELS,
        claimed_by_other=moderation.is_claimed_by_other(item, current_user),
    ), status


@bp.route("/review/<int:item_id>")
@access(MODERATOR)
def item(item_id: int):
    item = _reviewable_or_404(item_id)
    return _render_item(item, _action_form(item))


@bp.route("/review/<int:item_id>", methods=["POST"])
@access(MODERATOR)
def act(item_id: int):
    item = _reviewable_or_404(item_id)
    form = _action_form(item, formdata=request.form)
    if not form.validate_on_submit():
        return _render_item(item, form, 400)
    version = parse_id(form.version.data)
    if version is None:
        abort(400)
    try:
        decision = moderation.decide(
            current_user,
            item,
            version,
            form.action.data,
            template_id=form.template.data,
            reason=form.reason.data,
            body=form.body.data,
            board_id=form.board.data,
            days=form.days.data,
        )
    except StaleItem as stale:
        db.session.rollback()
        fresh = _item_or_404(item_id)
        return _render_item(fresh, _action_form(fresh), 409, stale=stale.message)
    except PermissionDenied as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _render_item(_item_or_404(item_id), form, 403)
    except ServiceError as error:
        db.session.rollback()
        show_service_error(form, error)
        return _render_item(_item_or_404(item_id), form, 400)
    flash(decision.message, "success")
    return redirect(url_for("moderation.review_queue"))


@bp.route("/review/<int:item_id>/claim", methods=["POST"])
@access(MODERATOR)
def claim(item_id: int):
    item = _reviewable_or_404(item_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    if moderation.claim(current_user, item):
        flash("You are handling this item: other moderators see your name on it.", "success")
    else:
        flash(
            f"{item.claimed_by.username if item.claimed_by else 'Another moderator'} is "
            "already handling this item.",
            "warning",
        )
    return redirect(url_for("moderation.item", item_id=item.id))


@bp.route("/review/<int:item_id>/release", methods=["POST"])
@access(MODERATOR)
def release(item_id: int):
    item = _reviewable_or_404(item_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    moderation.release(current_user, item)
    flash("You are no longer handling this item.", "success")
    return redirect(url_for("moderation.item", item_id=item.id))


# --- members -------------------------------------------------------------------------------


@bp.route("/p/<int:post_id>/report", methods=["GET", "POST"])
@access(VERIFIED)
def report(post_id: int):
    post = db.get_or_404(Post, post_id)
    if post.status != PostStatus.PUBLISHED or not permissions.can_see_topic(
        current_user, post.topic
    ):
        abort(404)
    if not permissions.can_report(current_user, post):
        abort(403)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            moderation.report(current_user, post, form.reason.data, form.note.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(
                "Thank you for telling us. A moderator will look at this post; its author "
                "is not told who reported it.",
                "success",
            )
            return redirect(url_for("boards.topic", topic_id=post.topic_id))
    return render_template(
        "moderation/report.html", post=post, form=form
    ), 400 if form.errors else 200


@bp.route("/notices", methods=["GET", "POST"])
@access(MEMBER)
def notices():
    before = parse_id(request.args.get("before"))
    query = sa.select(Notice).where(Notice.user_id == current_user.id)
    if before:
        query = query.where(Notice.id < before)
    rows = list(db.session.scalars(query.order_by(Notice.id.desc()).limit(31)))
    older = rows[29].id if len(rows) > 30 else None
    rows = rows[:30]
    form = PlainForm()
    if form.validate_on_submit():
        notice_service.mark_all_read(current_user)
        flash("All notices marked as read.", "success")
        return redirect(url_for("moderation.notices"))
    return render_template("moderation/notices.html", notices=rows, older=older, form=form)


@bp.app_template_global()
def unread_notice_count() -> int:
    return notice_service.unread_count(current_user) if current_user.is_authenticated else 0


@bp.route("/p/<int:post_id>/withdraw", methods=["POST"])
@access(MEMBER)
def withdraw(post_id: int):
    """The author takes back a waiting or returned post; its words are erased."""
    post = db.get_or_404(Post, post_id)
    if post.author_id != current_user.id:
        abort(404)
    if not permissions.can_withdraw(current_user, post):
        abort(
            403,
            "Only a post that is waiting for a moderator, or was returned to you, "
            "can be withdrawn.",
        )
    if not PlainForm().validate_on_submit():
        abort(400)
    posting.withdraw_post(current_user, post)
    flash("Your post was withdrawn and its words deleted.", "success")
    return redirect(url_for("moderation.notices"))


@bp.route("/p/<int:post_id>/returned")
@access(MEMBER)
def returned_post(post_id: int):
    """A rejected post's text, given back to its author (and only to them)."""
    post = db.get_or_404(Post, post_id)
    if post.author_id != current_user.id or post.status != PostStatus.REJECTED:
        abort(404)
    return render_template("moderation/returned.html", post=post)


@bp.app_template_filter()
def age(since) -> str:
    """How long ago, in the largest sensible unit ("3 hours")."""
    if since is None:
        return "–"
    seconds = max(0, int((utcnow() - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "under a minute"


@bp.app_template_filter()
def duration(seconds) -> str:
    if seconds is None:
        return "no decisions yet"
    seconds = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size, 1) if seconds < 10 * size else seconds // size
            return f"{count:g} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@bp.app_template_global()
def waiting_chart(series: list[tuple[str, int]]):
    """The queue's 30-day chart (moderation/_chart.html), drawn once per series.

    The series is kept for REVIEW_HISTORY_SECONDS (queue._recent_history), and the
    chart's 30 bars and table were a large part of rendering the queue page.
    """
    drawn = current_app.extensions.setdefault("review_chart", {})
    key = tuple(series)
    markup = drawn.get(key)
    if markup is None:
        if len(drawn) >= 64:
            drawn.clear()
        markup = drawn[key] = get_template_attribute("moderation/_chart.html", "waiting_chart")(
            series
        )
    return markup


@bp.app_template_global()
def category_label(category: ReviewCategory) -> str:
    return safety.label_of(category)
