"""Reading boards and topics; starting, replying to, editing and deleting posts."""

from __future__ import annotations

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
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import SubmitField

from .. import permissions, queries
from ..access import MODERATOR, PUBLIC, VERIFIED, access
from ..content import quote_markdown
from ..extensions import db, limiter
from ..forms import show_service_error
from ..http import parse_id
from ..models import Board, Post, PostRevision, PostStatus, Topic
from ..services import PermissionDenied, ServiceError, post_state, posting
from . import board_page, topic_page
from .forms import DeleteForm, EditForm, ReplyForm, TopicForm

bp = Blueprint("boards", __name__)

POSTING_LIMIT = "6 per minute;60 per hour"


def _only_posts() -> bool:
    """Previews and page views are free; only real submissions count against the limit.

    A preview is judged as the form judges it (an empty "preview=" posts for real).
    """
    return (
        request.method != "POST" or request.form.get("preview", "") not in SubmitField.false_values
    )


def _readable_board_or_404(slug: str) -> Board:
    board = db.first_or_404(db.select(Board).where(Board.slug == slug))
    if not permissions.can_read_board(current_user, board):
        abort(404)  # private boards do not reveal that they exist
    return board


def _readable_topic_or_404(topic_id: int) -> Topic:
    topic = queries.topic_with_board(topic_id)
    if topic is None or not permissions.can_see_topic(current_user, topic):
        abort(404)  # private boards and waiting topics do not reveal that they exist
    return topic


def _visible_post_or_404(post_id: int) -> Post:
    post = db.get_or_404(Post, post_id)
    if post.status not in queries.THREAD_STATUSES or not permissions.can_see_topic(
        current_user, post.topic
    ):
        abort(404)
    return post


def _page_number() -> int:
    return min(parse_id(request.args.get("page")) or 1, 1_000_000)


def _after_posting(submission: posting.Submission) -> None:
    """Tell the author what happens next: waiting for a moderator, and help if they need it."""
    if submission.screening.crisis:
        flash(
            "It sounds like things may be really hard right now. You don't have to face "
            "this alone: the people below are there to listen, any time.",
            "crisis",
        )
    if submission.is_waiting:
        flash(
            submission.screening.member_message
            or "A moderator will look at your post before others see it.",
            "waiting",
        )


def _preview(form: TopicForm | ReplyForm | EditForm) -> str | None:
    """Sanitised HTML of what the member typed, or None (errors are put on the form)."""
    try:
        return post_state.prepare(form.body.data, form.content_warning.data).html
    except ServiceError as error:
        show_service_error(form, error)
        return None


@bp.route("/")
@access(PUBLIC)
def index() -> ResponseReturnValue:
    return render_template("boards/index.html", boards=queries.board_list(current_user))


@bp.route("/b/<slug:slug>")
@access(PUBLIC)
def board(slug: str) -> ResponseReturnValue:
    return board_page.render(slug, request.args.get("after"), request.args.get("before"))


@bp.route("/b/<slug:slug>/new", methods=["GET", "POST"])
@access(VERIFIED)
@limiter.limit(POSTING_LIMIT, exempt_when=_only_posts)
def new_topic(slug: str) -> ResponseReturnValue:
    board = _readable_board_or_404(slug)
    if (refusal := permissions.why_cannot_post_in(current_user, board)) is not None:
        abort(403, refusal)
    form = TopicForm()
    preview_html = None
    if form.validate_on_submit():
        if form.wants_preview:
            preview_html = _preview(form)
        else:
            try:
                submission = posting.create_topic(
                    current_user,
                    board,
                    form.title.data,
                    form.body.data,
                    form.content_warning.data,
                    submission_key=form.submission_key.data,
                )
            except ServiceError as error:
                show_service_error(form, error)
            else:
                _after_posting(submission)
                return redirect(url_for("boards.topic", topic_id=submission.topic.id))
    status = 400 if form.errors else 200
    return render_template(
        "boards/new_topic.html", board=board, form=form, preview_html=preview_html
    ), status


@bp.route("/t/<int:topic_id>")
@access(PUBLIC)
def topic(topic_id: int) -> ResponseReturnValue:
    return topic_page.render(topic_id, _page_number())


@bp.route("/p/<int:post_id>")
@access(PUBLIC)
def permalink(post_id: int) -> ResponseReturnValue:
    """A stable link to one post: lands on the page of the thread that holds it."""
    post = _visible_post_or_404(post_id)
    page = queries.page_of_post(post, current_app.config["POSTS_PER_PAGE"])
    target = url_for("boards.topic", topic_id=post.topic_id, page=page if page > 1 else None)
    return redirect(f"{target}#p{post.id}")


@bp.route("/t/<int:topic_id>/reply", methods=["GET", "POST"])
@access(VERIFIED)
@limiter.limit(POSTING_LIMIT, exempt_when=_only_posts)
def reply(topic_id: int) -> ResponseReturnValue:
    topic = _readable_topic_or_404(topic_id)
    if (refusal := permissions.why_cannot_reply(current_user, topic)) is not None:
        abort(403, refusal)
    form = ReplyForm()
    preview_html = None
    if request.method == "GET":
        if quoted_id := parse_id(request.args.get("quote")):
            post = db.session.get(Post, quoted_id)
            if post and post.topic_id == topic.id and post.status == PostStatus.PUBLISHED:
                author = post.author.username if post.author else "A former member"
                form.body.data = quote_markdown(author, post.body_source)
                form.quote_of.data = str(post.id)
    elif form.validate_on_submit():
        if form.wants_preview:
            preview_html = _preview(form)
        else:
            quoted_id = parse_id(form.quote_of.data)
            quote_of = db.session.get(Post, quoted_id) if quoted_id else None
            try:
                submission = posting.create_reply(
                    current_user,
                    topic,
                    form.body.data,
                    form.content_warning.data,
                    quote_of=quote_of,
                    submission_key=form.submission_key.data,
                )
            except ServiceError as error:
                show_service_error(form, error)
            else:
                _after_posting(submission)
                if submission.is_waiting:
                    return redirect(url_for("boards.topic", topic_id=topic.id, _anchor="waiting"))
                return redirect(url_for("boards.permalink", post_id=submission.post.id))
    status = 400 if form.errors else 200
    return render_template(
        "boards/reply.html", topic=topic, form=form, preview_html=preview_html
    ), status


def _editable_post_or_403(post_id: int) -> Post:
    post = _visible_post_or_404(post_id)
    if post.status != PostStatus.PUBLISHED or not permissions.can_edit_post(current_user, post):
        abort(403)
    return post


def _own_post_or_403(post_id: int) -> Post:
    post = _visible_post_or_404(post_id)
    if not permissions.can_delete_own_post(current_user, post):
        abort(403)
    return post


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@access(VERIFIED)
@limiter.limit(POSTING_LIMIT, exempt_when=_only_posts)
def edit(post_id: int) -> ResponseReturnValue:
    post = _editable_post_or_403(post_id)
    is_first = post_state.is_first_post(post)
    form = EditForm()
    preview_html = None
    if request.method == "GET":
        form.body.data = post.body_source
        form.content_warning.data = post.content_warning or ""
        form.title.data = post.topic.title if is_first else None
    elif form.validate_on_submit():
        if form.wants_preview:
            preview_html = _preview(form)
        else:
            try:
                submission = posting.edit_post(
                    current_user,
                    post,
                    form.body.data,
                    form.content_warning.data,
                    title=form.title.data if is_first else None,
                )
            except PermissionDenied:
                abort(403)
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash("Your changes are saved.", "success")
                _after_posting(submission)
                if submission.is_waiting:
                    return redirect(
                        url_for("boards.topic", topic_id=post.topic_id, _anchor="waiting")
                    )
                return redirect(url_for("boards.permalink", post_id=post.id))
    status = 400 if form.errors else 200
    return render_template(
        "boards/edit.html", post=post, form=form, is_first=is_first, preview_html=preview_html
    ), status


@bp.route("/p/<int:post_id>/delete", methods=["GET", "POST"])
@access(VERIFIED)
def delete(post_id: int) -> ResponseReturnValue:
    post = _own_post_or_403(post_id)
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            posting.delete_post(current_user, post)
        except PermissionDenied:
            abort(403)
        flash(
            "Your post was removed. A placeholder stays so the conversation still reads.", "success"
        )
        return redirect(url_for("boards.permalink", post_id=post.id))
    return render_template("boards/delete.html", post=post, form=form)


@bp.route("/p/<int:post_id>/history")
@access(MODERATOR)
def history(post_id: int) -> ResponseReturnValue:
    post = db.get_or_404(Post, post_id)
    if not permissions.can_see_history(current_user, post):
        abort(403)
    revisions = db.session.scalars(
        db.select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .order_by(PostRevision.id.desc())
    ).all()
    return render_template("boards/history.html", post=post, revisions=revisions)
