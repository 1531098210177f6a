from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import readable_text
from ..services.personal import PHRASE_MAX


def board_id_or_none(value):
    """A board's id from a checkbox, or None for anything else (ignored, not an error:
    a board may have been removed while the page was open)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ButtonForm(FlaskForm):
    """A button-only form (block, unblock, remove, mute): it exists for its CSRF token."""


class PhraseForm(FlaskForm):
    phrase = StringField(
        "Word or phrase to mute",
        description="Posts that contain it show collapsed for you, naming the word; topics "
        "with it in their title too. It is matched on whole words, whatever the "
        "capitals.",
        validators=[
            Length(max=PHRASE_MAX, message=f"Keep it to {PHRASE_MAX} characters or fewer."),
            readable_text,
        ],
    )
    submit = SubmitField("Mute this word")


class PrivacyForm(FlaskForm):
    hides_recent_posts = BooleanField(
        "Hide my recent posts on my profile",
        description="Your profile then shows only your username and when you joined. Your "
        "posts still appear in their topics.",
    )
    boards = SelectMultipleField(
        "Boards you muted",
        coerce=board_id_or_none,
        description="Muted boards are left out of your board list and your digest, and "
        "replies there send you no notices. You can still open them.",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    submit = SubmitField("Save privacy settings")
