from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectChoice, SubmitField
from wtforms.validators import AnyOf, DataRequired, Length

from ..services.accounts import PASSWORD_MAX

KEEP, REMOVE = "keep", "remove"
POST_CHOICES = [
    SelectChoice(
        REMOVE,
        "Remove my posts: their words are erased; a note in each "
        "conversation says a post was removed, so replies still make sense",
    ),
    SelectChoice(
        KEEP,
        "Keep my posts: they stay where they are, shown as by "
        "“a former member”, without your username",
    ),
]


class DownloadForm(FlaskForm):
    submit = SubmitField("Download my data")


class DeleteAccountForm(FlaskForm):
    posts = RadioField(
        "What should happen to your posts?",
        choices=POST_CHOICES,
        validate_choice=False,
        validators=[AnyOf([KEEP, REMOVE], message="Choose whether to remove or keep your posts.")],
    )
    password = PasswordField(
        "Your password",
        description="To check that it's really you.",
        validators=[DataRequired("Enter your password."), Length(max=PASSWORD_MAX)],
    )
    submit = SubmitField("Delete my account in 14 days")
