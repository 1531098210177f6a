"""Admin settings: boards, members' roles, watched words and crisis phrases,
reason templates, and the moderation hours text.

Each write is one transaction that also adds its audit entry, so the audit log
and the settings cannot disagree. Every function takes the acting admin first
and refuses anyone else.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..content import clean_body, clean_single_line
from ..extensions import db
from ..models import (
    Board,
    BoardMode,
    BoardModerator,
    ReasonTemplate,
    Role,
    SiteText,
    User,
    WatchedAction,
    WatchedPhrase,
)
from ..models.revisions import move_on_topics_written_by
from ..safety import CRISIS, WATCHED_ACTIONS, phrase_key
from . import PermissionDenied, ServiceError, audit, transaction

POSITION_MAX = 1000
SLUG_MAX = 64
PHRASE_MAX = 100
MODERATION_HOURS_KEY = "moderation_hours"
MODERATION_HOURS_MAX = 1000

BOARD_FIELDS = ("slug", "name", "description", "is_public", "mode", "position")
TEMPLATE_FIELDS = ("label", "text", "position")


def require_admin(actor: User) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_admin:
        raise PermissionDenied("Only admins can change this.")


def column_length(table: sa.FromClause, name: str) -> int:
    """How many characters a String column holds: the form's check uses the schema's limit."""
    column_type = table.c[name].type
    assert isinstance(column_type, sa.String) and column_type.length is not None, name
    return column_type.length


def _text(
    value: str | None,
    field: str,
    limit: int,
    missing: str | None = None,
    *,
    multiline: bool = False,
) -> str:
    """Cleaned text, checked after cleaning (normalisation can lengthen it)."""
    value = clean_body(value or "").strip() if multiline else clean_single_line(value or "")
    if missing and not value:
        raise ServiceError(missing, field=field)
    if len(value) > limit:
        raise ServiceError(
            f"Keep this to {limit} characters or fewer (it has {len(value)}).", field=field
        )
    return value


def _position(position: int | None) -> int | None:
    if position is not None and not 0 <= position <= POSITION_MAX:
        raise ServiceError(f"Use a number from 0 to {POSITION_MAX}.", field="position")
    return position


def _next_position(column) -> int:
    return (db.session.scalar(sa.select(sa.func.max(column))) or 0) + 1


# --- boards ------------------------------------------------------------------


def _board_slug(slug: str | None) -> str:
    # The same rule as http.SlugConverter, plus the column's length.
    slug = (slug or "").strip().lower()
    if not slug or not all(char.isascii() and (char.isalnum() or char == "-") for char in slug):
        raise ServiceError(
            "A board's address uses lower-case letters, digits and dashes.", field="slug"
        )
    if len(slug) > SLUG_MAX:
        raise ServiceError(f"Keep the address to {SLUG_MAX} characters or fewer.", field="slug")
    return slug


def create_board(
    slug: str,
    name: str,
    description: str = "",
    is_public: bool = True,
    mode: str = BoardMode.OPEN,
    position: int | None = None,
) -> Board:
    """An operator creates a board from the command line (or the demo, or a test);
    the audit log names "the operator" as the one who did it."""
    return _save_board(None, None, slug, name, description, is_public, mode, position)


def save_board(
    actor: User,
    board: Board | None,
    slug: str | None,
    name: str,
    description: str,
    is_public: bool,
    mode: str,
    position: int | None = None,
) -> Board:
    """Create a board (board=None) or change one. A board's slug is fixed once it
    exists, since links to it are out in the world: pass None or the same slug."""
    require_admin(actor)
    return _save_board(actor, board, slug, name, description, is_public, mode, position)


def _save_board(
    actor: User | None,
    board: Board | None,
    slug: str | None,
    name: str,
    description: str,
    is_public: bool,
    mode: str,
    position: int | None,
) -> Board:
    if board is None:
        slug = _board_slug(slug)
    elif slug is not None and slug != board.slug:
        raise ServiceError("A board's address can't be changed once it exists.", field="slug")
    name = _text(name, "name", column_length(Board.__table__, "name"), "Give the board a name.")
    description = _text(description, "description", column_length(Board.__table__, "description"))
    if mode not in set(BoardMode):
        raise ServiceError("Choose open, pre-moderated or locked.", field="mode")
    position = _position(position)
    try:
        with transaction():
            if board is None:
                if db.session.scalar(sa.select(Board.id).where(Board.slug == slug)) is not None:
                    raise ServiceError(
                        f"A board with the address “{slug}” exists already.", field="slug"
                    )
                board = Board(
                    slug=slug,
                    position=_next_position(Board.position) if position is None else position,
                )
                db.session.add(board)
                before = None
            else:
                before = audit.snapshot(board, *BOARD_FIELDS)
                if position is not None:
                    board.position = position
            board.name, board.description = name, description
            board.is_public, board.mode = bool(is_public), BoardMode(mode)
            audit.record_save(actor, "board", board, before, BOARD_FIELDS)
    except sa.exc.IntegrityError:
        # Another admin created the same slug between our check and our insert.
        raise ServiceError(
            f"A board with the address “{slug}” exists already.", field="slug"
        ) from None
    return board


# --- members -------------------------------------------------------------------


def _role_snapshot(member: User, board_ids: Iterable[int]) -> dict:
    return {
        "role": str(member.role),
        "moderates_all_boards": bool(member.moderates_all_boards),
        "board_ids": sorted(board_ids),
    }


def _check_boards_exist(board_ids: set[int]) -> None:
    known = set(db.session.scalars(sa.select(Board.id).where(Board.id.in_(board_ids))))
    if known != board_ids:
        raise ServiceError("One of those boards no longer exists. Please choose again.", "boards")


def set_role(
    actor: User, member: User, role: str, moderates_all_boards: bool, board_ids: Iterable[int]
) -> User:
    """Give a member a role and (for staff) the boards they moderate.

    The board list replaces the member's current one. A plain member moderates
    nothing, so their board list is emptied. An admin cannot demote themself,
    which also means the site always keeps at least one admin.
    """
    require_admin(actor)
    if role not in set(Role):
        raise ServiceError("Choose member, moderator or admin.", field="role")
    new_role = Role(role)
    if member.id == actor.id and new_role != Role.ADMIN:
        raise ServiceError(
            "You can't take away your own admin role. Ask another admin if you mean to step down.",
            field="role",
        )
    wanted = set() if new_role == Role.MEMBER else {int(board_id) for board_id in board_ids}
    moderates_all_boards = bool(moderates_all_boards) and new_role != Role.MEMBER
    with transaction():
        _check_boards_exist(wanted)
        current = set(
            db.session.scalars(
                sa.select(BoardModerator.board_id).where(BoardModerator.user_id == member.id)
            )
        )
        before = _role_snapshot(member, current)
        if wanted != current:
            db.session.execute(
                sa.delete(BoardModerator).where(
                    BoardModerator.user_id == member.id, BoardModerator.board_id.not_in(wanted)
                )
            )
            db.session.add_all(
                BoardModerator(user_id=member.id, board_id=board_id)
                for board_id in sorted(wanted - current)
            )
        if (member.role == Role.MEMBER) != (new_role == Role.MEMBER):
            move_on_topics_written_by(db.session, member.id)  # members may block only members
        member.role, member.moderates_all_boards = new_role, moderates_all_boards
        after = _role_snapshot(member, wanted)
        if after != before:
            audit.record(actor, "member.role", "user", member.id, before=before, after=after)
    # forum.permissions keeps the board list on the user object for the request.
    member.__dict__.pop("_moderated_board_ids", None)
    return member


# --- watched words and crisis phrases -----------------------------------------


def add_watched_phrase(actor: User, phrase: str, action: str) -> WatchedPhrase:
    """Add to the watched list (block / hold / flag) or to the crisis list (crisis).

    Phrases are compared by their words (forum.safety.phrase_key), so "Self-Harm"
    and "self harm" are one phrase; a watched phrase has one action at a time.
    """
    require_admin(actor)
    if action not in (*WATCHED_ACTIONS, CRISIS):
        raise ServiceError("Choose block, hold or flag.", field="action")
    phrase = _text(phrase, "phrase", PHRASE_MAX, "Enter a word or phrase.")
    key = phrase_key(phrase)
    if not key:
        raise ServiceError("Use at least one letter or digit.", field="phrase")
    if len(key) > column_length(WatchedPhrase.__table__, "phrase_key"):
        raise ServiceError(
            "This phrase is too long once its letters are normalised. Please shorten it.",
            field="phrase",
        )
    actions = WATCHED_ACTIONS if action in WATCHED_ACTIONS else (CRISIS,)
    audit_action = "watched_word.add" if action in WATCHED_ACTIONS else "crisis_phrase.add"
    try:
        with transaction():
            existing = db.session.scalar(
                sa.select(WatchedPhrase)
                .where(WatchedPhrase.phrase_key == key, WatchedPhrase.action.in_(actions))
                .limit(1)
            )
            if existing is not None:
                raise ServiceError(_already_listed(existing), field="phrase")
            row = WatchedPhrase(phrase=phrase, phrase_key=key, action=WatchedAction(action))
            db.session.add(row)
            db.session.flush()
            audit.record(
                actor,
                audit_action,
                "watched_phrase",
                row.id,
                after=audit.snapshot(row, "phrase", "phrase_key", "action"),
            )
    except sa.exc.IntegrityError:
        # Another admin added it between our check and our insert.
        raise ServiceError(f"“{phrase}” is already on the list.", field="phrase") from None
    return row


def _already_listed(existing: WatchedPhrase) -> str:
    if existing.action == CRISIS:
        return f"“{existing.phrase}” is already on the crisis list."
    return (
        f"“{existing.phrase}” is already on the watched list, set to "
        f"{existing.action}. Remove it first to change what it does."
    )


def remove_watched_phrase(actor: User, row: WatchedPhrase) -> None:
    require_admin(actor)
    action = "crisis_phrase.remove" if row.action == CRISIS else "watched_word.remove"
    with transaction():
        audit.record(
            actor,
            action,
            "watched_phrase",
            row.id,
            before=audit.snapshot(row, "phrase", "phrase_key", "action"),
        )
        db.session.delete(row)


def watched_phrases(*actions: str) -> list[WatchedPhrase]:
    return list(
        db.session.scalars(
            sa.select(WatchedPhrase)
            .where(WatchedPhrase.action.in_(actions))
            .order_by(WatchedPhrase.phrase_key, WatchedPhrase.id)
        )
    )


# --- reason templates ----------------------------------------------------------


def save_reason_template(
    actor: User, template: ReasonTemplate | None, label: str, text: str, position: int | None = None
) -> ReasonTemplate:
    require_admin(actor)
    table = ReasonTemplate.__table__
    label = _text(label, "label", column_length(table, "label"), "Give the reason a short label.")
    text = _text(
        text,
        "text",
        column_length(table, "text"),
        "Write the reason as the member will read it.",
        multiline=True,
    )
    position = _position(position)
    with transaction():
        if template is None:
            template = ReasonTemplate(
                position=_next_position(ReasonTemplate.position) if position is None else position
            )
            db.session.add(template)
            before = None
        else:
            before = audit.snapshot(template, *TEMPLATE_FIELDS)
            if position is not None:
                template.position = position
        template.label, template.text = label, text
        audit.record_save(actor, "reason_template", template, before, TEMPLATE_FIELDS)
    return template


def delete_reason_template(actor: User, template: ReasonTemplate) -> None:
    require_admin(actor)
    with transaction():
        audit.record_delete(actor, "reason_template", template, TEMPLATE_FIELDS)


def reason_templates() -> list[ReasonTemplate]:
    return list(
        db.session.scalars(
            sa.select(ReasonTemplate).order_by(ReasonTemplate.position, ReasonTemplate.id)
        )
    )


# --- moderation hours ------------------------------------------------------------


def moderation_hours() -> str:
    """What members whose post waits for review are told about moderators' hours."""
    row = db.session.get(SiteText, MODERATION_HOURS_KEY)
    return row.value if row is not None else ""


def set_moderation_hours(actor: User, text: str) -> str:
    """Empty text is allowed: members are then told nothing about hours."""
    require_admin(actor)
    text = _text(text, "text", MODERATION_HOURS_MAX, multiline=True)
    with transaction():
        row = db.session.get(SiteText, MODERATION_HOURS_KEY, with_for_update=True)
        before = row.value if row is not None else ""
        if row is None:
            row = SiteText(key=MODERATION_HOURS_KEY, value=text)
            db.session.add(row)
        row.value = text
        if text != before:
            audit.record(
                actor,
                "moderation_hours.update",
                "site_text",
                None,
                before={"key": MODERATION_HOURS_KEY, "value": before},
                after={"key": MODERATION_HOURS_KEY, "value": text},
            )
    return text
