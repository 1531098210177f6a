"""Admin pages: boards, members' roles, watched words, crisis phrases, reason
templates, moderation hours, the "Get help now" list, and the audit log.

Each view parses the form, calls one service function with the acting admin,
and shows a refusal beside its field (status 400, what was typed kept).
"""

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from .. import queries
from ..access import ADMIN, access
from ..extensions import db
from ..forms import show_service_error
from ..http import parse_id
from ..models import Board, BoardMode, Helpline, ReasonTemplate, Role, User, WatchedPhrase
from ..safety import CRISIS, WATCHED_ACTIONS
from ..services import ServiceError, audit_actions
from ..services import admin as admin_service
from ..services import helplines as helpline_service
from . import queries as admin_queries
from .forms import (
    WATCHED_ACTION_CHOICES,
    BoardForm,
    CrisisPhraseForm,
    DeleteHelplineForm,
    HelplineForm,
    MemberRoleForm,
    ModerationHoursForm,
    NewBoardForm,
    ReasonTemplateForm,
    RemoveForm,
    WatchedWordForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> User:
    return current_user._get_current_object()


def _saved(form: FlaskForm, write: Callable[..., object], *args: object, **kwargs: object) -> bool:
    """Call the service; a refusal goes beside its field and keeps the input."""
    try:
        write(_actor(), *args, **kwargs)
    except ServiceError as error:
        show_service_error(form, error)
        return False
    return True


def _status(form: FlaskForm) -> int:
    return 400 if form.errors else 200


def _require_remove_form() -> None:
    if not RemoveForm().validate_on_submit():
        abort(400)


@bp.route("/")
@access(ADMIN)
def index() -> ResponseReturnValue:
    return render_template("admin/index.html")


# --- boards ---------------------------------------------------------------------


def _save_board(form: BoardForm, board: Board | None) -> bool:
    return _saved(
        form,
        admin_service.save_board,
        board,
        form.slug.data if board is None else None,
        form.name.data,
        form.description.data,
        form.is_public.data,
        form.mode.data,
        form.position.data,
    )


@bp.route("/boards", methods=["GET", "POST"])
@access(ADMIN)
def boards() -> ResponseReturnValue:
    form = NewBoardForm()
    if form.validate_on_submit() and _save_board(form, None):
        flash(f"Board “{form.name.data.strip()}” added.", "success")
        return redirect(url_for("admin.boards"))
    board_list = list(db.session.scalars(sa.select(Board).order_by(Board.position, Board.id)))
    return render_template(
        "admin/boards.html", boards=board_list, form=form, mode_labels=_mode_labels()
    ), _status(form)


def _mode_labels() -> dict[str, str]:
    return {
        BoardMode.OPEN: "Open",
        BoardMode.PREMODERATED: "Pre-moderated",
        BoardMode.LOCKED: "Locked",
    }


@bp.route("/boards/<int:board_id>", methods=["GET", "POST"])
@access(ADMIN)
def edit_board(board_id: int) -> ResponseReturnValue:
    board = db.get_or_404(Board, board_id)
    form = BoardForm(obj=board)
    if form.validate_on_submit() and _save_board(form, board):
        flash("Board saved.", "success")
        return redirect(url_for("admin.boards"))
    return render_template("admin/edit_board.html", board=board, form=form), _status(form)


# --- members ----------------------------------------------------------------------


@bp.route("/members")
@access(ADMIN)
def members() -> ResponseReturnValue:
    search = (request.args.get("q") or "")[:30]
    page = admin_queries.members(search, before=parse_id(request.args.get("before")))
    return render_template(
        "admin/members.html", page=page, search=search, role_labels=_role_labels()
    )


def _role_labels() -> dict[str, str]:
    return {Role.MEMBER: "Member", Role.MODERATOR: "Moderator", Role.ADMIN: "Admin"}


@bp.route("/members/<int:user_id>", methods=["GET", "POST"])
@access(ADMIN)
def member(user_id: int) -> ResponseReturnValue:
    member = db.get_or_404(User, user_id)
    form = MemberRoleForm(obj=member, boards=[board.id for board in member.moderated_boards])
    form.boards.choices = [
        SelectChoice(board.id, board.name)
        for board in db.session.scalars(sa.select(Board).order_by(Board.position, Board.id))
    ]
    if form.validate_on_submit() and _saved(
        form,
        admin_service.set_role,
        member,
        form.role.data,
        form.moderates_all_boards.data,
        form.boards.data or [],
    ):
        flash(f"{member.username}'s role saved.", "success")
        return redirect(url_for("admin.member", user_id=member.id))
    return render_template(
        "admin/member.html", member=member, form=form, role_labels=_role_labels()
    ), _status(form)


# --- watched words and crisis phrases ------------------------------------------------


@bp.route("/watched-words", methods=["GET", "POST"])
@access(ADMIN)
def watched_words() -> ResponseReturnValue:
    form = WatchedWordForm()
    if form.validate_on_submit() and _saved(
        form, admin_service.add_watched_phrase, form.phrase.data, form.action.data
    ):
        flash(f"“{form.phrase.data.strip()}” added to the watched list.", "success")
        return redirect(url_for("admin.watched_words"))
    listed = admin_service.watched_phrases(*WATCHED_ACTIONS)
    groups = [
        (choice.value, [row for row in listed if row.action == choice.value])
        for choice in WATCHED_ACTION_CHOICES
    ]
    return render_template(
        "admin/watched_words.html", groups=groups, form=form, remove_form=RemoveForm()
    ), _status(form)


@bp.route("/watched-words/<int:phrase_id>/remove", methods=["POST"])
@access(ADMIN)
def remove_watched_word(phrase_id: int) -> ResponseReturnValue:
    row = db.get_or_404(WatchedPhrase, phrase_id)
    if row.action not in WATCHED_ACTIONS:
        abort(404)
    _require_remove_form()
    admin_service.remove_watched_phrase(_actor(), row)
    flash(f"“{row.phrase}” removed from the watched list.", "success")
    return redirect(url_for("admin.watched_words"))


@bp.route("/crisis-phrases", methods=["GET", "POST"])
@access(ADMIN)
def crisis_phrases() -> ResponseReturnValue:
    form = CrisisPhraseForm()
    if form.validate_on_submit() and _saved(
        form, admin_service.add_watched_phrase, form.phrase.data, CRISIS
    ):
        flash(f"“{form.phrase.data.strip()}” added to the crisis list.", "success")
        return redirect(url_for("admin.crisis_phrases"))
    return render_template(
        "admin/crisis_phrases.html",
        phrases=admin_service.watched_phrases(CRISIS),
        form=form,
        remove_form=RemoveForm(),
    ), _status(form)


@bp.route("/crisis-phrases/<int:phrase_id>/remove", methods=["POST"])
@access(ADMIN)
def remove_crisis_phrase(phrase_id: int) -> ResponseReturnValue:
    row = db.get_or_404(WatchedPhrase, phrase_id)
    if row.action != CRISIS:
        abort(404)
    _require_remove_form()
    admin_service.remove_watched_phrase(_actor(), row)
    flash(f"“{row.phrase}” removed from the crisis list.", "success")
    return redirect(url_for("admin.crisis_phrases"))


# --- reason templates --------------------------------------------------------------------


def _save_template(form: ReasonTemplateForm, template: ReasonTemplate | None) -> bool:
    return _saved(
        form,
        admin_service.save_reason_template,
        template,
        form.label.data,
        form.text.data,
        form.position.data,
    )


@bp.route("/reason-templates", methods=["GET", "POST"])
@access(ADMIN)
def reason_templates() -> ResponseReturnValue:
    form = ReasonTemplateForm()
    if form.validate_on_submit() and _save_template(form, None):
        flash("Reason added.", "success")
        return redirect(url_for("admin.reason_templates"))
    return render_template(
        "admin/reason_templates.html",
        templates=admin_service.reason_templates(),
        form=form,
        remove_form=RemoveForm(),
    ), _status(form)


@bp.route("/reason-templates/<int:template_id>", methods=["GET", "POST"])
@access(ADMIN)
def edit_reason_template(template_id: int) -> ResponseReturnValue:
    template = db.get_or_404(ReasonTemplate, template_id)
    form = ReasonTemplateForm(obj=template)
    if form.validate_on_submit() and _save_template(form, template):
        flash("Reason saved.", "success")
        return redirect(url_for("admin.reason_templates"))
    return render_template(
        "admin/edit_reason_template.html", template=template, form=form
    ), _status(form)


@bp.route("/reason-templates/<int:template_id>/delete", methods=["POST"])
@access(ADMIN)
def delete_reason_template(template_id: int) -> ResponseReturnValue:
    template = db.get_or_404(ReasonTemplate, template_id)
    _require_remove_form()
    label = template.label
    admin_service.delete_reason_template(_actor(), template)
    flash(f"Reason “{label}” removed.", "success")
    return redirect(url_for("admin.reason_templates"))


# --- moderation hours ------------------------------------------------------------------


@bp.route("/moderation-hours", methods=["GET", "POST"])
@access(ADMIN)
def moderation_hours() -> ResponseReturnValue:
    form = ModerationHoursForm()
    if request.method == "GET":
        form.text.data = admin_service.moderation_hours()
    if form.validate_on_submit() and _saved(
        form, admin_service.set_moderation_hours, form.text.data
    ):
        flash("Moderation hours saved.", "success")
        return redirect(url_for("admin.moderation_hours"))
    return render_template("admin/moderation_hours.html", form=form), _status(form)


# --- helplines ------------------------------------------------------------------------


@bp.route("/helplines", methods=["GET", "POST"])
@access(ADMIN)
def helplines() -> ResponseReturnValue:
    form = HelplineForm()
    if form.validate_on_submit() and _saved(form, helpline_service.save, None, form.data):
        flash("Helpline added.", "success")
        return redirect(url_for("admin.helplines"))
    return render_template(
        "admin/helplines.html",
        helplines=queries.helplines(),
        form=form,
        delete_form=DeleteHelplineForm(),
    ), _status(form)


@bp.route("/helplines/<int:helpline_id>", methods=["GET", "POST"])
@access(ADMIN)
def edit_helpline(helpline_id: int) -> ResponseReturnValue:
    helpline = db.get_or_404(Helpline, helpline_id)
    form = HelplineForm(obj=helpline)
    if form.validate_on_submit() and _saved(form, helpline_service.save, helpline, form.data):
        flash("Helpline saved.", "success")
        return redirect(url_for("admin.helplines"))
    return render_template("admin/edit_helpline.html", helpline=helpline, form=form), _status(form)


@bp.route("/helplines/<int:helpline_id>/delete", methods=["POST"])
@access(ADMIN)
def delete_helpline(helpline_id: int) -> ResponseReturnValue:
    helpline = db.get_or_404(Helpline, helpline_id)
    if not DeleteHelplineForm().validate_on_submit():
        abort(400)
    helpline_service.delete(_actor(), helpline)
    flash("Helpline removed.", "success")
    return redirect(url_for("admin.helplines"))


# --- the audit log (read-only: there is no route that changes an entry) ------------------


@bp.route("/audit")
@access(ADMIN)
def audit() -> ResponseReturnValue:
    filters = {
        name: (request.args.get(name) or "").strip()[:40]
        for name in ("action", "actor", "target_type")
    }
    target_id = parse_id(request.args.get("target_id"))
    page = admin_queries.audit_entries(
        action=filters["action"],
        actor=filters["actor"],
        target_type=filters["target_type"],
        target_id=target_id,
        before=parse_id(request.args.get("before")),
    )
    entries = [
        (entry, admin_queries.pretty_json(entry.before), admin_queries.pretty_json(entry.after))
        for entry in page.rows
    ]
    link_args: dict[str, str | int] = {name: value for name, value in filters.items() if value}
    if target_id is not None:
        link_args["target_id"] = target_id
    return render_template(
        "admin/audit.html",
        entries=entries,
        page=page,
        filters=filters,
        target_id=target_id,
        link_args=link_args,
        is_first_page=request.args.get("before") is None,
        known_actions=audit_actions.KNOWN_ACTIONS,
        target_types=audit_actions.TARGET_TYPES,
    )
