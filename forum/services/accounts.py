"""Accounts: registration, verification, login, password reset.

Answers never tell whether an account exists: registering a known address
mails its owner instead, and an unknown login still pays for a hash check.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for

from .. import mail
from ..content import is_invisible_or_control
from ..extensions import db
from ..models import (
    AccountToken,
    DigestFrequency,
    Role,
    TokenPurpose,
    User,
    new_session_token,
    utcnow,
)
from . import ServiceError, mail_settings, transaction

password_hasher = PasswordHasher()
# Hashes of a random password, one per cost setting, made on first use: hashing at
# import would charge every CLI command for an argon2 run it never needs.
_dummy_hashes: dict[tuple[int, int, int], str] = {}

USERNAME_MIN, USERNAME_MAX = 3, 30
PASSWORD_MIN, PASSWORD_MAX = 10, 200
EMAIL_MAX = 254
USERNAME_PUNCTUATION = set("._-")
RESERVED_USERNAME_PREFIX = "former-member"

VERIFY, RESET = TokenPurpose.VERIFY, TokenPurpose.RESET


# --- usernames ---------------------------------------------------------------


def normalise_username(raw: str) -> str:
    """The name as shown: NFKC-normalised, surrounding spaces trimmed."""
    return unicodedata.normalize("NFKC", raw).strip()


def username_key(name: str) -> str:
    """Case-insensitive identity of a username."""
    return unicodedata.normalize("NFKC", normalise_username(name).casefold())


def username_problem(raw: str) -> str | None:
    """A message for the member when the name cannot be used, else None."""
    name = normalise_username(raw)
    if any(is_invisible_or_control(char) for char in name):
        return (
            "Usernames can't contain invisible, control or text-direction characters. "
            "Please type the name again without them."
        )
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        return f"Choose a username of {USERNAME_MIN} to {USERNAME_MAX} characters."
    for char in name:
        category = unicodedata.category(char)
        if not (category[0] in "LMN" or char in USERNAME_PUNCTUATION):
            return "Use letters, numbers, dots, dashes or underscores (no spaces)."
    if name[0] in USERNAME_PUNCTUATION:
        return "Start your username with a letter or number."
    if username_key(name).startswith(RESERVED_USERNAME_PREFIX):
        # Erased accounts are renamed so (forum.services.leaving): nobody may pose as one.
        return "Usernames can't start with “former-member”. Please choose another."
    return None


def find_by_username(name: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username_key == username_key(name)))


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def checked_email(raw: str) -> str:
    """The normalised address, refused if lower-casing made it too long to store."""
    email = normalise_email(raw)
    if len(email) > EMAIL_MAX:
        raise ServiceError("That email address is too long.", field="email")
    return email


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


# --- tokens ------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            user=user,
            purpose=purpose,
            token_hash=_hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def _redeem_token(token: str, purpose: TokenPurpose, now: datetime | None = None) -> User | None:
    """Mark the token used and return its user, or None if unknown, used or expired."""
    now = now or utcnow()
    record = db.session.scalar(
        sa.select(AccountToken)
        .where(AccountToken.token_hash == _hash_token(token))
        .with_for_update()
    )
    if record is None or record.purpose != purpose or record.used_at or record.expires_at < now:
        return None
    record.used_at = now
    return record.user


# --- registration and verification -------------------------------------------


def register(
    username: str,
    email: str,
    password: str,
    *,
    digest: str = DigestFrequency.NONE,
    timezone: str = "UTC",
) -> None:
    """Create an unverified account and mail a confirmation link.

    If the address is already registered, its owner is told by mail instead;
    the caller answers the same either way. The digest and timezone chosen on the
    form are stored with the new account.
    """
    problem = username_problem(username)
    if problem:
        raise ServiceError(problem, field="username")
    check_password_strength(password)
    email = checked_email(email)
    mail_settings.check_choices(digest, timezone)
    password_hash = password_hasher.hash(password)  # always paid, known address or not
    try:
        _register(username, email, password_hash, digest, timezone)
    except sa.exc.IntegrityError:
        # Someone took the name between our check and our insert.
        raise ServiceError(
            "That username is taken. Please choose another.", field="username"
        ) from None


def _register(username: str, email: str, password_hash: str, digest: str, timezone: str) -> None:
    with transaction():
        if find_by_username(username) is not None:
            raise ServiceError("That username is taken. Please choose another.", field="username")
        existing = find_by_email(email)
        if existing is not None:
            message = _already_registered_message(existing)
        else:
            user = User(
                username=normalise_username(username),
                username_key=username_key(username),
                email=email,
                password_hash=password_hash,
                role=Role.MEMBER,
            )
            db.session.add(user)
            db.session.flush()
            mail_settings.start_for_new_member(user, digest, timezone)
            message = _verification_message(user)
    # After the commit and the response: a slow mail server must neither hold the
    # transaction open nor make a known address answer more slowly than a new one.
    mail.deliver_after_response(message)


def check_password_strength(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ServiceError(
            f"Choose a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters. "
            "A few unrelated words make a strong one.",
            field="password",
        )


def _verification_message(user: User) -> EmailMessage:
    token = _issue_token(user, VERIFY, timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"]))
    link = mail.absolute_url(url_for("auth.verify_email", token=token))
    return mail.build_message(
        user.email,
        "Confirm your email address",
        "verify_email",
        username=user.username,
        link=link,
        hours=current_app.config["VERIFY_TOKEN_HOURS"],
    )


def _already_registered_message(user: User) -> EmailMessage:
    return mail.build_message(
        user.email,
        "Someone tried to register with your address",
        "already_registered",
        username=user.username,
        login_link=mail.absolute_url(url_for("auth.login")),
        reset_link=mail.absolute_url(url_for("auth.request_reset")),
    )


def resend_verification(user: User) -> bool:
    """Mail a fresh confirmation link; False if the mail server could not take it."""
    if user.is_verified:
        return True
    with transaction():
        message = _verification_message(user)
    return mail.deliver(message)


def verify_email(token: str) -> User | None:
    with transaction():
        user = _redeem_token(token, VERIFY)
        if user is not None and user.email_verified_at is None:
            user.email_verified_at = utcnow()
        return user


# --- login -------------------------------------------------------------------


def login_identity(login: str) -> str:
    """The account a login form names, as typed and normalised, whether it exists or not:
    what login attempts are counted against (see forum.auth.throttle)."""
    login = login.strip()
    return f"email:{normalise_email(login)}" if "@" in login else f"name:{username_key(login)}"


def _dummy_hash() -> str:
    """A hash made with the current cost settings, so that verifying it costs what
    checking a real member's password costs."""
    cost = (password_hasher.time_cost, password_hasher.memory_cost, password_hasher.parallelism)
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = password_hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[cost]


def authenticate(login: str, password: str) -> User | None:
    """The user whose username or email and password match, else None."""
    login = login.strip()
    user = find_by_email(login) if "@" in login else find_by_username(login)
    if user is None or user.erased_at is not None:  # an erased account is no account
        # Pay for a hash check anyway: timing must not tell an unknown account from a known one.
        try:
            password_hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return None
    try:
        password_hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if password_hasher.check_needs_rehash(user.password_hash):
        with transaction():
            user.password_hash = password_hasher.hash(password)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """A logged-in member sets a new password, proving they know the current one.

    Every session of the member ends (a new session token) except the one the caller
    logs in again with: a thief holding an old session or remember-me cookie is out.
    """
    try:
        password_hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        raise ServiceError(
            "That isn't your current password. Please type it again.", field="current_password"
        ) from None
    check_password_strength(new_password)
    new_hash = password_hasher.hash(new_password)
    with transaction():
        user.password_hash = new_hash
        user.session_token = new_session_token()


# --- password reset -----------------------------------------------------------


def request_password_reset(email: str) -> None:
    with transaction():
        user = find_by_email(email)
        if user is None:
            return
        minutes = current_app.config["RESET_TOKEN_MINUTES"]
        token = _issue_token(user, RESET, timedelta(minutes=minutes))
        message = mail.build_message(
            user.email,
            "Reset your password",
            "reset_password",
            username=user.username,
            minutes=minutes,
            link=mail.absolute_url(url_for("auth.reset_password", token=token)),
        )
    mail.deliver_after_response(message)  # unknown addresses must not answer faster


def reset_token_is_valid(token: str) -> bool:
    record = db.session.scalar(
        sa.select(AccountToken).where(AccountToken.token_hash == _hash_token(token))
    )
    return (
        record is not None
        and record.purpose == RESET
        and record.used_at is None
        and record.expires_at >= utcnow()
    )


def reset_password(token: str, new_password: str) -> User | None:
    """Set the password and sign the member out everywhere; None if the link is dead."""
    check_password_strength(new_password)
    new_hash = password_hasher.hash(new_password)
    with transaction():
        user = _redeem_token(token, RESET)
        if user is None:
            return None
        user.password_hash = new_hash
        user.session_token = new_session_token()
        # Following the mailed link proves the address too.
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        return user


# --- operators -----------------------------------------------------------------


def create_user(
    username: str, email: str, password: str, role: str = Role.MEMBER, verified: bool = True
) -> User:
    """For the CLI and the demo: an account made by an operator is trusted as verified.

    A moderator made here moderates every board; admins can narrow that on the site.
    """
    problem = username_problem(username)
    if problem:
        raise ServiceError(problem, field="username")
    check_password_strength(password)
    if role not in set(Role):
        raise ServiceError(f"role must be one of {', '.join(Role)}", field="role")
    with transaction():
        if find_by_username(username) is not None:
            raise ServiceError("That username is taken.", field="username")
        if find_by_email(email) is not None:
            raise ServiceError("That email address already has an account.", field="email")
        user = User(
            username=normalise_username(username),
            username_key=username_key(username),
            email=checked_email(email),
            password_hash=password_hasher.hash(password),
            role=role,
            email_verified_at=utcnow() if verified else None,
            moderates_all_boards=role == Role.MODERATOR,
        )
        db.session.add(user)
    return user
