from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from .. import safety
from ..forms import readable_text
from ..http import parse_id
from ..models import ReviewCategory
from ..services.moderation import REASON_MAX, REPORT_NOTE_MAX
from ..services.post_state import BODY_MAX
from ..services.sanctions import SUSPENSION_DAYS

#: How members see the reasons they can report a post for.
REPORT_CHOICES = [
    SelectChoice(ReviewCategory.AT_RISK, "Someone may be at risk"),
    SelectChoice(ReviewCategory.HARASSMENT, "Harassment or hate"),
    SelectChoice(ReviewCategory.PERSONAL_DETAILS, "Sharing personal details"),
    SelectChoice(ReviewCategory.SPAM, "Spam or advertising"),
    SelectChoice(ReviewCategory.OTHER, "Something else"),
]
assert [choice.value for choice in REPORT_CHOICES] == list(safety.REPORT_REASONS)


class ReportForm(FlaskForm):
    reason = RadioField(
        "What is wrong?",
        choices=REPORT_CHOICES,
        validators=[InputRequired("Choose what is wrong with the post.")],
    )
    note = TextAreaField(
        "Anything the moderators should know",
        validators=[Optional(), Length(max=REPORT_NOTE_MAX), readable_text],
        description="Optional, except for “Something else”. The author is never told who "
        "reported their post.",
    )
    submit = SubmitField("Send report")


def _int_or_none(value):
    """An id or a number of days from a form; anything else (too big for the database,
    not a number) is None, which the service refuses beside the field."""
    return value if isinstance(value, int) else parse_id(value)


class ReasonFields(FlaskForm):
    template = SelectField(
        "Reason",
        coerce=_int_or_none,
        validate_choice=False,
        description="The member sees this text (and yours below).",
    )
    reason = TextAreaField(
        "Your own words", validators=[Optional(), Length(max=REASON_MAX), readable_text]
    )


class ActionForm(ReasonFields):
    # Set by the button pressed: each action is its own submit button.
    action = HiddenField()
    version = HiddenField()
    body = TextAreaField(
        "Edited text (for “Approve with my edits”)",
        validators=[Optional(), Length(max=BODY_MAX), readable_text],
    )
    board = SelectField("Move the topic to", coerce=_int_or_none, validate_choice=False)
    days = SelectField(
        "Suspend for",
        coerce=_int_or_none,
        choices=[
            SelectChoice(days, f"{days} day{'s' if days != 1 else ''}") for days in SUSPENSION_DAYS
        ],
        validate_choice=False,
    )


class BulkForm(ReasonFields):
    selected = SelectMultipleField("Selected items", validate_choice=False)
    action = StringField()


class PlainForm(FlaskForm):
    """A button and its CSRF token (claim, release, mark read)."""

    submit = SubmitField()
