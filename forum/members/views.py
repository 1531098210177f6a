"""Members' public profiles, blocking, and the privacy settings (muted words and boards).

fold_reason, topic_fold and may_block are how a page applies the viewer's blocks and mutes
to each post and topic it shows; personal_filters() loads them once per request for the
pages that do not gather them with their other facts (forum.boards.member_facts).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from .. import permissions, queries
from ..access import MEMBER, PUBLIC, access
from ..auth.views import back_to
from ..extensions import db
from ..forms import show_service_error
from ..http import parse_id
from ..models import Board, Role
from ..personal_filters import NO_FILTERS, PersonalFilters, for_member, text_of_html
from ..services import PermissionDenied, ServiceError, personal
from . import profile as profiles
from .forms import ButtonForm, PhraseForm, PrivacyForm

bp = Blueprint("members", __name__)


# --- on other blueprints' pages ------------------------------------------------------------


@bp.app_template_global()
def personal_filters() -> PersonalFilters:
    """The viewer's blocks and mutes, loaded once per request."""
    if not current_user.is_authenticated:
        return NO_FILTERS
    if "personal_filters" not in g:
        g.personal_filters = for_member(current_user.id)
    return g.personal_filters


def fold_reason(filters: PersonalFilters, post) -> dict | None:
    """Why a post in a thread shows collapsed for a member whose filters are `filters`:
    {"blocked": True} or {"phrase": "the muted word"}; None to show it as it is."""
    if filters.is_empty or post.status != "published":
        return None
    if filters.has_blocked(post.author_id):
        return {"blocked": True}
    phrase = filters.muted_phrase_in(post.content_warning, text_of_html(post.body_html))
    return {"phrase": phrase} if phrase else None


def topic_fold(filters: PersonalFilters, topic) -> dict | None:
    """Why a topic in a board's list shows collapsed for a member whose filters are
    `filters`: started by a member they blocked, or a muted phrase in its title."""
    if filters.is_empty:
        return None
    if filters.has_blocked(topic.author_id):
        return {"blocked": True}
    phrase = filters.muted_phrase_in(topic.title)
    return {"phrase": phrase} if phrase else None


def may_block(viewer_id: int, post) -> bool:
    """Whether a post's author line offers Block / Unblock to the signed-in member
    `viewer_id`: members may block other members only."""
    return (
        post.author_id is not None
        and post.author_id != viewer_id
        and post.author_role == Role.MEMBER
        and post.author_erased_at is None
    )


@bp.app_template_global()
def blocked_by_count(member_id: int) -> int:
    """For moderators' pages: how many members blocked this one (never who)."""
    return personal.blocked_by_count(member_id) if permissions.is_staff(current_user) else 0


# --- the public profile --------------------------------------------------------------------


@bp.route("/u/<username>")
@access(PUBLIC)
def profile(username: str):
    member = profiles.visible_member(current_user, username)
    if member is None:
        abort(404)
    is_self = current_user.is_authenticated and current_user.id == member.id
    filters = personal_filters()
    blocked = (
        current_user.is_authenticated and not is_self and personal.has_blocked(current_user, member)
    )
    page = None
    if (not member.hides_recent_posts or is_self) and not blocked:
        page = profiles.recent_posts(
            current_user,
            member,
            filters.muted_board_ids,
            before=parse_id(request.args.get("before")),
        )
    return render_template(
        "members/profile.html",
        member=member,
        page=page,
        is_self=is_self,
        blocked=blocked,
        filters=filters,
        may_block=current_user.is_authenticated
        and not is_self
        and personal.can_block(current_user, member),
        first_page=not request.args.get("before"),
    )


@bp.route("/u/<username>/block", methods=["POST"])
@access(MEMBER)
def block(username: str):
    member = profiles.visible_member(current_user, username)
    if member is None:
        abort(404)
    if ButtonForm().validate_on_submit():
        try:
            personal.block(current_user, member)
        except ServiceError as error:
            flash(error.message, "warning")
        else:
            flash(
                f"You blocked {member.username}. Their posts show collapsed for you, and "
                "their replies and quotes send you no notices. They are not told.",
                "success",
            )
    return redirect(back_to(url_for("members.profile", username=member.username)))


@bp.route("/u/<username>/unblock", methods=["POST"])
@access(MEMBER)
def unblock(username: str):
    # Anyone on the member's own block list can be unblocked, even with no posts left.
    member = profiles.find_member(username)
    if member is None or not personal.has_blocked(current_user, member):
        abort(404)
    if ButtonForm().validate_on_submit():
        personal.unblock(current_user, member.id)
        flash(f"You unblocked {member.username}.", "success")
    return redirect(back_to(url_for("members.privacy")))


# --- privacy settings ----------------------------------------------------------------------


def _privacy_page(
    form: PrivacyForm | None = None, phrase_form: PhraseForm | None = None, status: int = 200
):
    boards = queries.board_list(current_user)
    if form is None:
        form = PrivacyForm(
            formdata=None,
            hides_recent_posts=current_user.hides_recent_posts,
            boards=sorted(personal.muted_board_ids(current_user)),
        )
    form.boards.choices = [SelectChoice(board.id, board.name) for board in boards]
    return render_template(
        "members/privacy.html",
        form=form,
        phrase_form=phrase_form or PhraseForm(formdata=None),
        button_form=ButtonForm(),
        blocked=personal.blocked_members(current_user),
        phrases=personal.muted_phrases(current_user),
    ), status


@bp.route("/settings/privacy", methods=["GET", "POST"])
@access(MEMBER)
def privacy():
    if request.method == "GET":
        return _privacy_page()
    form = PrivacyForm()
    if form.validate_on_submit():
        personal.save_privacy(
            current_user,
            hides_recent_posts=form.hides_recent_posts.data,
            muted_boards=[board_id for board_id in form.boards.data or [] if board_id is not None],
        )
        flash("Your privacy settings are saved.", "success")
        return redirect(url_for("members.privacy"))
    return _privacy_page(form=form, status=400)


@bp.route("/settings/privacy/phrases", methods=["POST"])
@access(MEMBER)
def add_phrase():
    form = PhraseForm()
    if form.validate_on_submit():
        try:
            muted = personal.mute_phrase(current_user, form.phrase.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"You muted “{muted.phrase}”.", "success")
            return redirect(url_for("members.privacy", _anchor="phrases-heading"))
    return _privacy_page(phrase_form=form, status=400)


@bp.route("/settings/privacy/phrases/<int:phrase_id>/remove", methods=["POST"])
@access(MEMBER)
def remove_phrase(phrase_id: int):
    if ButtonForm().validate_on_submit():
        phrase = personal.unmute_phrase(current_user, phrase_id)
        if phrase is None:
            abort(404)
        flash(f"“{phrase}” is no longer muted.", "success")
    return redirect(url_for("members.privacy", _anchor="phrases-heading"))


@bp.route("/b/<slug:slug>/mute", methods=["POST"])
@access(MEMBER)
def mute_board(slug: str):
    board = db.first_or_404(db.select(Board).where(Board.slug == slug))
    if not permissions.can_read_board(current_user, board):
        abort(404)
    action = request.form.get("action")
    if action not in ("mute", "unmute"):
        abort(400, "Choose mute or unmute.")
    if ButtonForm().validate_on_submit():
        try:
            if action == "mute":
                personal.mute_board(current_user, board)
                flash(
                    f"You muted {board.name}: it is left out of your board list and digest. "
                    "You can unmute it here or in your privacy settings.",
                    "success",
                )
            else:
                personal.unmute_board(current_user, board)
                flash(f"{board.name} is no longer muted.", "success")
        except PermissionDenied:
            abort(404)
    return redirect(back_to(url_for("boards.board", slug=board.slug)))
