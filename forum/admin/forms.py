import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, AnyOf, DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import readable_text
from ..models import BoardMode, Role, WatchedAction
from ..services.admin import MODERATION_HOURS_MAX, PHRASE_MAX, POSITION_MAX, SLUG_MAX


class HelplineForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Give the service's name."), Length(max=120), readable_text],
    )
    region = StringField(
        "Region",
        description='Where it serves, e.g. "United Kingdom".',
        validators=[
            DataRequired("Say where the service is available."),
            Length(max=80),
            readable_text,
        ],
    )
    contact = StringField(
        "How to reach it",
        description="A phone number, text number or address.",
        validators=[DataRequired("Say how to reach the service."), Length(max=200), readable_text],
    )
    url = URLField(
        "Website",
        validators=[
            Optional(),
            Length(max=300),
            # URL() alone lets "javascript://…" through; this page is for people in crisis.
            Regexp(r"^https?://", re.IGNORECASE, message="Enter a full address, starting https://"),
            URL(message="Enter a full address, starting https://"),
        ],
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=500), readable_text]
    )
    position = IntegerField(
        "Order on the page", default=0, validators=[Optional(), NumberRange(min=0, max=1000)]
    )
    submit = SubmitField("Save helpline")


class DeleteHelplineForm(FlaskForm):
    submit = SubmitField("Remove")


class RemoveForm(FlaskForm):
    """The CSRF-protected button behind every "Remove"."""

    submit = SubmitField("Remove")


def _one_of(choices: list[SelectChoice], message: str) -> AnyOf:
    """A radio choice checked with a message in words (WTForms' own says "Not a valid choice")."""
    return AnyOf([choice.value for choice in choices], message=message)


def _position_field(description: str) -> IntegerField:
    return IntegerField(
        "Order",
        description=description,
        validators=[
            Optional(),
            NumberRange(min=0, max=POSITION_MAX, message=f"Use a number from 0 to {POSITION_MAX}."),
        ],
    )


BOARD_MODES = [
    SelectChoice(BoardMode.OPEN.value, "Open: trusted members' posts appear at once"),
    SelectChoice(BoardMode.PREMODERATED.value, "Pre-moderated: every post waits for a moderator"),
    SelectChoice(BoardMode.LOCKED.value, "Locked: read-only"),
]


class BoardForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Give the board a name."), Length(max=80), readable_text]
    )
    description = TextAreaField(
        "Description",
        description="One or two sentences, shown under the board's name.",
        validators=[Optional(), Length(max=300), readable_text],
    )
    is_public = BooleanField(
        "Public",
        default=True,
        description="Logged-out visitors can read it. Untick to keep it to members.",
    )
    mode = RadioField(
        "Who can post, and when posts appear",
        choices=BOARD_MODES,
        default=BoardMode.OPEN.value,
        validate_choice=False,
        validators=[_one_of(BOARD_MODES, "Choose open, pre-moderated or locked.")],
    )
    position = _position_field(
        "Boards are listed by this number, lowest first. Leave it empty to put a new board last."
    )
    submit = SubmitField("Save board")


class NewBoardForm(BoardForm):
    slug = StringField(
        "Address",
        description="Part of the board's web address, e.g. "
        '"anxiety" for /b/anxiety. Lower-case letters, '
        "digits and dashes; it can't be changed later.",
        validators=[
            DataRequired("Give the board an address."),
            Length(max=SLUG_MAX),
            readable_text,
        ],
    )
    submit = SubmitField("Add board")


ROLES = [
    SelectChoice(Role.MEMBER.value, "Member: posts and reads"),
    SelectChoice(
        Role.MODERATOR.value, "Moderator: reviews posts and reports in the boards chosen below"
    ),
    SelectChoice(Role.ADMIN.value, "Admin: moderates every board and manages these settings"),
]


class MemberRoleForm(FlaskForm):
    role = RadioField(
        "Role",
        choices=ROLES,
        validate_choice=False,
        validators=[_one_of(ROLES, "Choose member, moderator or admin.")],
    )
    moderates_all_boards = BooleanField(
        "Moderates every board", description="Including boards added later. Only for moderators."
    )
    boards = SelectMultipleField(
        "Boards they moderate",
        coerce=int,
        description="Only for moderators. A member who is given the member role moderates nothing.",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        invalid_choice_message="One of those boards no longer exists. Please choose again.",
    )
    submit = SubmitField("Save role")


WATCHED_ACTION_CHOICES = [
    SelectChoice(
        WatchedAction.BLOCK.value, "Block: refused, the member is told why and keeps their text"
    ),
    SelectChoice(WatchedAction.HOLD.value, "Hold: waits for a moderator"),
    SelectChoice(WatchedAction.FLAG.value, "Flag: published, and moderators are asked to look"),
]


def _phrase_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[DataRequired("Enter a word or phrase."), Length(max=PHRASE_MAX), readable_text],
    )


class WatchedWordForm(FlaskForm):
    phrase = _phrase_field("Word or phrase")
    action = RadioField(
        "What happens to a post containing it",
        choices=WATCHED_ACTION_CHOICES,
        default=WatchedAction.HOLD.value,
        validate_choice=False,
        validators=[_one_of(WATCHED_ACTION_CHOICES, "Choose block, hold or flag.")],
    )
    submit = SubmitField("Add to the watched list")


class CrisisPhraseForm(FlaskForm):
    phrase = _phrase_field("Phrase")
    submit = SubmitField("Add to the crisis list")


class ReasonTemplateForm(FlaskForm):
    label = StringField(
        "Label",
        description='What moderators pick from, e.g. "Spam".',
        validators=[DataRequired("Give the reason a short label."), Length(max=80), readable_text],
    )
    text = TextAreaField(
        "Text",
        description="What the member reads. Moderators can add to it when they act.",
        validators=[
            DataRequired("Write the reason as the member will read it."),
            Length(max=500),
            readable_text,
        ],
    )
    position = _position_field(
        "Reasons are offered in this order, lowest first. Leave it empty to put a new reason last."
    )
    submit = SubmitField("Save reason")


class ModerationHoursForm(FlaskForm):
    text = TextAreaField(
        "When moderators are around",
        description="Shown to a member whose post is waiting for review, "
        "so they know how long it may take. Leave it empty to "
        "say nothing.",
        validators=[Optional(), Length(max=MODERATION_HOURS_MAX), readable_text],
    )
    submit = SubmitField("Save")
