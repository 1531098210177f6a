"""Joining, logging in and out, confirming email, resetting a password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..access import ANONYMOUS, MEMBER, PUBLIC, access
from ..extensions import limiter
from ..forms import show_service_error
from ..services import ServiceError, accounts
from .forms import LoginForm, RegisterForm, RequestResetForm, ResetPasswordForm, SimpleActionForm

bp = Blueprint("auth", __name__)

# Counted per client address; only POSTs (attempts) count, not viewing the form.
LOGIN_LIMIT = "10 per minute;50 per hour"
ACCOUNT_MAIL_LIMIT = "5 per minute;20 per hour"


def _post_only() -> bool:
    return request.method != "POST"


def safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("boards.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("boards.index")
    return target


@bp.route("/register", methods=["GET", "POST"])
@access(ANONYMOUS)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register(form.username.data, form.email.data, form.password.data,
                              digest=form.digest.data, timezone=form.timezone.data)
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
def check_email():
    return render_template("auth/check_email.html")


@bp.route("/verify/<token>")
@access(PUBLIC)
def verify_email(token: str):
    user = accounts.verify_email(token)
    if user is None:
        return render_template("auth/link_expired.html", purpose="confirm"), 400
    flash("Thank you: your email address is confirmed. You can post now.", "success")
    return redirect(url_for("boards.index") if current_user.is_authenticated
                    else url_for("auth.login"))


@bp.route("/verify/resend", methods=["POST"])
@access(MEMBER)
@limiter.limit(ACCOUNT_MAIL_LIMIT)
def resend_verification():
    if SimpleActionForm().validate_on_submit():
        if accounts.resend_verification(current_user):
            flash("We've sent a new confirmation link. It may take a minute to arrive.",
                  "success")
        else:
            flash("We couldn't send the email just now. Please try again in a few minutes.",
                  "error")
    return redirect(url_for("auth.account"))


@bp.route("/login", methods=["GET", "POST"])
@access(ANONYMOUS)
@limiter.limit(LOGIN_LIMIT, exempt_when=_post_only)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None and user.is_banned:
            # Only someone who knows the password learns this: no enumeration.
            form.form_errors.append("This account has been closed by the moderators.")
            return render_template("auth/login.html", form=form), 403
        if user is not None:
            # A fresh session: nothing from before login (a planted id) carries over.
            session.clear()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors = [*form.password.errors,
                                "That username or email and password don't match an account."]
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@access(PUBLIC)
def logout():
    if SimpleActionForm().validate_on_submit():
        logout_user()
        session.clear()
        flash("You have logged out.", "success")
    return redirect(url_for("boards.index"))


@bp.route("/reset", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def request_reset():
    form = RequestResetForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("auth/reset_sent.html")
    return render_template("auth/request_reset.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@access(PUBLIC)
@limiter.limit(ACCOUNT_MAIL_LIMIT, exempt_when=_post_only)
def reset_password(token: str):
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
            logout_user()
            session.clear()
            flash("Your password is changed and you are logged out everywhere. "
                  "Please log in with the new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/account")
@access(MEMBER)
def account():
    return render_template("auth/account.html", resend_form=SimpleActionForm())
