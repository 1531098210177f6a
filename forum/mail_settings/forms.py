from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, SelectField, SubmitField

from ..digests.schedule import WEEKDAYS, timezone_names
from ..models import DigestFrequency

DIGEST_CHOICES = [
    SelectChoice(DigestFrequency.NONE.value, "None"),
    SelectChoice(DigestFrequency.DAILY.value, "Daily"),
    SelectChoice(DigestFrequency.WEEKLY.value, "Weekly"),
]
HOUR_CHOICES = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]
WEEKDAY_CHOICES = [SelectChoice(number, name) for number, name in enumerate(WEEKDAYS)]


def timezone_choices() -> list[SelectChoice]:
    return [SelectChoice(name, name.replace("_", " ")) for name in timezone_names()]


def number_or_none(value):
    """A select's number, or None for anything else: the service then says what is wrong
    beside the field (WTForms' own "could not coerce" helps nobody)."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def digest_field(description: str) -> RadioField:
    # Checked by the service (mail_settings.check_choices), which names the field at fault.
    return RadioField(
        "Email digest",
        choices=DIGEST_CHOICES,
        default=DigestFrequency.NONE.value,
        validate_choice=False,
        description=description,
    )


def timezone_field() -> SelectField:
    return SelectField(
        "Your timezone",
        choices=timezone_choices(),
        default="UTC",
        validate_choice=False,
        description="Digests come at the hour you choose in this timezone.",
    )


class MailSettingsForm(FlaskForm):
    digest = digest_field(
        "A gentle summary of new topics and replies in what you follow, "
        "and topics nobody has answered yet. Nothing new means no email."
    )
    digest_hour = SelectField(
        "Hour of the day",
        choices=HOUR_CHOICES,
        default=8,
        coerce=number_or_none,
        validate_choice=False,
    )
    digest_weekday = SelectField(
        "Day of the week",
        choices=WEEKDAY_CHOICES,
        default=0,
        coerce=number_or_none,
        validate_choice=False,
        description="For a weekly digest.",
    )
    timezone = timezone_field()
    notify_reply = BooleanField("Someone replies to a topic I started", default=True)
    notify_quote = BooleanField("Someone quotes one of my posts", default=True)
    notify_moderation = BooleanField(
        "A moderator makes a decision about one of my posts", default=True
    )
    submit = SubmitField("Save mail settings")


class ActionForm(FlaskForm):
    """A button-only form (follow, unfollow, resume): it exists for its CSRF token."""

    next = HiddenField()
    submit = SubmitField("Save")
