from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import readable_text
from ..mail_settings.forms import digest_field, timezone_field
from ..services.accounts import PASSWORD_MAX, PASSWORD_MIN


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        description="Shown with your posts. Don't use your real name.",
        validators=[DataRequired("Choose a username."), Length(max=60), readable_text],
    )
    email = EmailField(
        "Email address",
        description="Never shown to other members.",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            readable_text,
            Email("Enter an email address like name@example.org."),
        ],
    )
    password = PasswordField(
        "Password",
        description=f"At least {PASSWORD_MIN} characters.",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Choose a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords don't match."),
        ],
    )
    digest = digest_field(
        "A gentle email now and then with what's new in the boards and "
        "topics you follow. None until you choose one; you can change it "
        "any time in your mail settings."
    )
    timezone = timezone_field()
    accept_guidelines = BooleanField(
        "I have read the community guidelines and will follow them",
        validators=[DataRequired("Please read and accept the community guidelines to join.")],
    )
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    login = StringField(
        "Username or email address",
        validators=[
            DataRequired("Enter your username or email address."),
            Length(max=254),
            readable_text,
        ],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=PASSWORD_MAX)]
    )
    remember = BooleanField("Keep me logged in on this device")
    submit = SubmitField("Log in")


class RequestResetForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            readable_text,
            Email("Enter an email address like name@example.org."),
        ],
    )
    submit = SubmitField("Send reset link")


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    """The new password and its confirmation, as the reset and change forms both ask.

    Made by a function rather than a base class so that each form keeps its fields in
    the order it declares them (WTForms orders fields by when they were made).
    """
    password = PasswordField(
        "New password",
        description=f"At least {PASSWORD_MIN} characters.",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Choose a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords don't match."),
        ],
    )
    return password, confirm


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()
    submit = SubmitField("Set new password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=PASSWORD_MAX)],
    )
    password, confirm = _new_password_fields()
    submit = SubmitField("Change password")


class SimpleActionForm(FlaskForm):
    """A button-only form (log out, resend link): it exists for its CSRF token."""

    submit = SubmitField("Send")
