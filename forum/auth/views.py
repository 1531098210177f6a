"""Joining, logging in and out, confirming email, resetting a password."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME

from ..access import ANONYMOUS, MEMBER, PUBLIC, access
from ..content import is_invisible_or_control
from ..extensions import limiter
from ..forms import show_service_error
from ..models import User
from ..services import ServiceError, accounts, leaving
from . import throttle
from .forms import (
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    RequestResetForm,
    ResetPasswordForm,
    SimpleActionForm,
)

bp = Blueprint("auth", __name__)

# Counted per client address; only POSTs (attempts) count, not viewing the form.
LOGIN_LIMIT = "10 per minute;50 per hour"
ACCOUNT_MAIL_LIMIT = "5 per minute;20 per hour"


def _post_only() -> bool:
    return request.method != "POST"


NEXT_MAX = 2000


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect.

    Judged as the most lenient reader would see it: browsers drop tabs and line
    breaks from a URL and read a backslash as a slash, so "/\t/evil.example" and
    "/\\evil.example" would leave the site; a proxy may decode "%2F" once.
    """
    fallback = url_for("boards.index")
    if not target or len(target) > NEXT_MAX:
        return fallback
    for candidate in (target, unquote(target)):
        if not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
            return fallback
        if any(char.isspace() or is_invisible_or_control(char) for char in candidate):
            return fallback
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return fallback
    return target


def back_to(default: str) -> str:
    """Where a small form (follow, block, mute) returns: its `next` field when it names a
    page on this site, else `default`."""
    target = request.form.get("next")
    return safe_next(target) if target else default


@bp.route("/register", methods=["GET", "POST"])
@access(ANONYMOUS)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register(
                form.username.data,
                form.email.data,
                form.password.data,
                digest=form.digest.data,
                timezone=form.timezone.data,
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            return redirect(url_for("auth.check_email"))
    if request.method == "GET":
        # Nothing chosen yet: the browser may suggest its own zone (static/js/timezone.js).
        form.timezone.render_kw = {"data-suggest-browser-timezone": ""}
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.route("/register/check-email")
@access(PUBLIC)
def check_email() -> ResponseReturnValue:
    return render_template("auth/check_email.html")


@bp.route("/verify/<token>")
@access(PUBLIC)
def verify_email(token: str) -> ResponseReturnValue:
    user = accounts.verify_email(token)
    if user is None:
        return render_template("auth/link_expired.html", purpose="confirm"), 400
    flash("Thank you: your email address is confirmed. You can post now.", "success")
    return redirect(
        url_for("boards.index") if current_user.is_authenticated else url_for("auth.login")
    )


@bp.route("/verify/resend", methods=["POST"])
@access(MEMBER)
@limiter.limit(ACCOUNT_MAIL_LIMIT)
def resend_verification() -> ResponseReturnValue:
    if SimpleActionForm().validate_on_submit():
        if accounts.resend_verification(current_user):
            flash("We've sent a new confirmation link. It may take a minute to arrive.", "success")
        else:
            flash(
                "We couldn't send the email just now. Please try again in a few minutes.", "error"
            )
    return redirect(url_for("auth.account"))


@bp.route("/login", methods=["GET", "POST"])
@access(ANONYMOUS)
@limiter.limit(LOGIN_LIMIT, exempt_when=_post_only)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        identity = accounts.login_identity(form.login.data)
        if wait := throttle.seconds_to_wait(identity):
            # Not even a right password gets in during the wait: that is what makes
            # guessing slow. Known and unknown accounts wait alike.
            form.form_errors.append(
                f"There have been too many wrong passwords for this account or from your "
                f"connection. For your safety, please wait {throttle.in_words(wait)} and try "
                "again. If you have forgotten your password, you can reset it by email."
            )
            response = current_app.make_response(
                (render_template("auth/login.html", form=form), 429)
            )
            response.headers["Retry-After"] = str(wait)
            return response
        user = accounts.authenticate(form.login.data, form.password.data)
        cancelled = False
        if user is not None and not user.is_banned and user.deletion_due_at is not None:
            # Logging in during the two weeks' grace cancels the deletion.
            cancelled = leaving.cancel_deletion(user)
            if user.erased_at is not None:  # erased while the password was being checked
                user = None
        if user is None:
            message = "That username or email and password don't match an account."
            if wait := throttle.record_failure(identity):
                message += f" Please wait {throttle.in_words(wait)} before trying again."
            form.password.errors = [*form.password.errors, message]
        else:
            throttle.record_success(_identities_of(user))
            if user.is_banned:
                # Only someone who knows the password learns this: no enumeration.
                form.form_errors.append("This account has been closed by the moderators.")
                return render_template("auth/login.html", form=form), 403
            # A fresh session: nothing from before login (a planted id) carries over.
            session.clear()
            login_user(user, remember=form.remember.data)
            if cancelled:
                flash(
                    "Welcome back. Your account will not be deleted: logging in cancelled "
                    "the deletion, and your account stays as it was.",
                    "success",
                )
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _identities_of(user: User) -> list[str]:
    """Every way of naming the account on the login form."""
    return [accounts.login_identity(user.username), accounts.login_identity(user.email)]


@bp.route("/logout", methods=["POST"])
@access(PUBLIC)
def logout() -> ResponseReturnValue:
    if SimpleActionForm().validate_on_submit():
        logout_user()
        session.clear()
        flash("You have logged out.", "success")
    return redirect(url_for("boards.index"))


@bp.route("/reset", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def request_reset() -> ResponseReturnValue:
    form = RequestResetForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("auth/reset_sent.html")
    return render_template("auth/request_reset.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def reset_password(token: str) -> ResponseReturnValue:
    if not accounts.reset_token_is_valid(token):
        return render_template("auth/link_expired.html", purpose="reset"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(token, form.password.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            if user is None:
                return render_template("auth/link_expired.html", purpose="reset"), 400
            throttle.record_success(_identities_of(user))  # the mailed link proved who they are
            logout_user()
            session.clear()
            flash(
                "Your password is changed and you are logged out everywhere. "
                "Please log in with the new password.",
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/account")
@access(MEMBER)
def account() -> ResponseReturnValue:
    return render_template("auth/account.html", resend_form=SimpleActionForm())


@bp.route("/account/password", methods=["GET", "POST"])
@access(MEMBER)
@limiter.limit(LOGIN_LIMIT, exempt_when=_post_only)  # the current password can be guessed here
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.password.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            # Every other session now holds a dead token; this one logs in again with the
            # new token (and a new remember-me cookie if it had one).
            cookie = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
            login_user(current_user._get_current_object(), remember=cookie in request.cookies)
            flash("Your password is changed. You are logged out on every other device.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200
