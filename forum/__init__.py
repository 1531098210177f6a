"""Kindred: a moderated peer-support forum."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, g, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as settings
from . import session_hooks
from .extensions import csrf, db, limiter, login_manager, migrate
from .http import IdConverter, KindredRequest, SlugConverter, refuse_nul_in_query

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# templates/, static/ and migrations/ sit beside forum/ in a checkout (and an editable install);
# a built wheel carries them inside the package (setup.py copies them in).
_PACKAGE_DIR = Path(__file__).resolve().parent
ASSET_ROOT = _PACKAGE_DIR if (_PACKAGE_DIR / "templates").is_dir() else settings.REPO_ROOT


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = Path(os.environ.get("INSTANCE_PATH") or settings.REPO_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path.resolve()),
        template_folder=str(ASSET_ROOT / "templates"),
        static_folder=str(ASSET_ROOT / "static"),
    )
    app.config.update(settings.FIXED)
    if test_config and "SECRET_KEY" in test_config:
        # Tests bring their own key; never write one into the developer's instance folder.
        app.config.update(settings.from_environment_without_key(Path(app.instance_path)))
    else:
        app.config.update(settings.from_environment(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    _database_options(app)
    app.request_class = KindredRequest
    app.before_request(refuse_nul_in_query)
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["slug"] = SlugConverter
    if app.config["TRUSTED_PROXIES"]:
        count = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to add WSGI middleware, though its stubs call wsgi_app a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )

    session_hooks.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ASSET_ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)

    _register_blueprints(app)

    from . import chrome, cli, page_cache, templating

    cli.init_app(app)
    page_cache.init_app(app)
    chrome.init_app(app)
    templating.init_app(app)
    _init_request_errors(app)
    _init_database_errors(app)
    _init_security_headers(app)
    return app


def _database_options(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        _use_sqlite(app)
    else:
        _pool_for_mail_senders(app)


def _pool_for_mail_senders(app: Flask) -> None:
    """Keep enough pooled connections to a database server for a mail run: the
    session's, the outbox's own and one per SMTP sender thread (SMTP_CONNECTIONS). With
    SQLAlchemy's five, each digest run closed the extra connections it gave back and
    opened them again the next time. (Opening a SQLite file costs next to nothing.)
    """
    engine_options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    wanted = max(5, app.config["SMTP_CONNECTIONS"] + 3)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": wanted, **engine_options}


def _use_sqlite(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # A file on this machine has no connection to lose: the check before each use
    # (config.FIXED) would only cost every request a statement.
    engine_options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options, "pool_pre_ping": False}


def _register_blueprints(app: Flask) -> None:
    from .admin.views import bp as admin_bp
    from .auth.views import bp as auth_bp
    from .boards.views import bp as boards_bp
    from .leaving.views import bp as leaving_bp
    from .mail_settings.views import bp as mail_settings_bp
    from .members.views import bp as members_bp
    from .moderation.views import bp as moderation_bp
    from .pages.views import bp as pages_bp
    from .reactions.views import bp as reactions_bp
    from .search.views import bp as search_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(boards_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(mail_settings_bp)
    app.register_blueprint(leaving_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(reactions_bp)


def _init_login(app: Flask) -> None:
    from .models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "basic"

    # Built once (a bind parameter): every request of a signed-in member asks it.
    by_session_token = sa.select(User).where(User.session_token == sa.bindparam("token"))

    @login_manager.user_loader
    def load_user(session_token: str):
        user = db.session.scalars(by_session_token, {"token": session_token}).first()
        return user if user is not None and not user.is_banned else None


def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _init_request_errors(app: Flask) -> None:
    """Pages for requests refused: too many, a stale form, any HTTP error."""

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error):
        retry_after = 60
        current = limiter.current_limit
        if current is not None:
            retry_after = max(1, int(current.reset_at - time.time()))
        g.retry_after = retry_after
        response = app.make_response(
            (render_template("errors/429.html", retry_after=retry_after), 429)
        )
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template(
            "errors/400.html",
            reason=(
                "This form had expired or came from somewhere else, so nothing was sent. "
                "Go back, reload the page and try again."
            ),
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        template = (
            f"errors/{code}.html" if code in (400, 403, 404, 405, 413) else "errors/generic.html"
        )
        # A description given to abort() is written for the member; Werkzeug's defaults are not.
        reason = error.description if error.description != type(error).description else None
        return render_template(template, error=error, reason=reason), code


def _init_database_errors(app: Flask) -> None:
    """A database that cannot answer gets the 503 page; any other fault, the 500 page."""

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_unavailable(error):
        return _database_unavailable_page(app, error)

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(error: sa.exc.DBAPIError):
        if _database_unavailable(error):  # e.g. psycopg's "the connection is closed"
            return _database_unavailable_page(app, error)
        raise error  # a real fault: the 500 handler below

    @app.errorhandler(500)
    def server_error(error):
        # The database can also fail outside the view (after_request, the error page).
        original = getattr(error, "original_exception", None)
        if _database_unavailable(original):
            return _database_unavailable_page(app, original)
        return render_template("errors/generic.html", error=None), 500


#: Form fields that carry words a member wrote, given back on the 503 page so nothing
#: typed is lost. An allow-list: passwords, tokens and hidden fields never come back.
_TYPED_FIELDS = {
    "title": "Title",
    "body": "Your text",
    "content_warning": "Content warning",
    "note": "Your note",
    "reason": "Your reason",
    "text": "Text",
    "description": "Description",
}


def _database_unavailable(error: BaseException | None) -> bool:
    """Errors that mean "the database cannot answer now" (down, unreachable, locked or
    busy past its timeout), not a fault in Kindred: they pass when the database is back."""
    return isinstance(error, (sa.exc.OperationalError, sa.exc.TimeoutError)) or bool(
        getattr(error, "connection_invalidated", False)
    )


#: PostgreSQL's "the database answered, but not in time": lock or statement timeout,
#: a serialization failure or a deadlock, each retryable as it is.
_BUSY_SQLSTATES = {"55P03", "57014", "40001", "40P01"}


def _database_busy(error: BaseException) -> bool:
    """Reachable but too busy (locked past SQLite's busy timeout, a PostgreSQL lock
    timeout, no pooled connection free in time), as opposed to unreachable."""
    if isinstance(error, sa.exc.TimeoutError):
        return True
    original = getattr(error, "orig", None)
    return (
        getattr(original, "sqlstate", None) in _BUSY_SQLSTATES
        or "database is locked" in str(original)
        or "database table is locked" in str(original)
    )


def _database_unavailable_page(app: Flask, error: BaseException):
    """503 with a calm message, the member's typed text, and no stack trace.

    The page renders without the database (it does not extend base.html, whose menu
    reads the member's account and notices). Connections to a database server are checked
    before use (pool_pre_ping in config.FIXED), so service returns by itself when the
    database does.
    """
    # Rolling back on a connection that is gone fails too; the pool replaces it, and
    # this page needs no database.
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()
    if "_login_user" not in g:
        # Flask-Login's template context would load the member from the database again;
        # this page does not say who is logged in anyway.
        g._login_user = login_manager.anonymous_user()
    busy = _database_busy(error)
    app.logger.warning(
        "Database unavailable for %s %s: %s",
        request.method,
        request.path,
        str(error).splitlines()[0] if str(error) else type(error).__name__,
    )
    typed = []
    if request.method == "POST":
        typed = [
            (name, _TYPED_FIELDS[name], value)
            for name, value in request.form.items(multi=True)
            if name in _TYPED_FIELDS and value.strip()
        ]
    from .helplines import DEFAULT_HELPLINES

    worldwide = [line for line in DEFAULT_HELPLINES if line["region"] == "Worldwide"]
    response = app.make_response(
        (
            render_template(
                "errors/503.html", busy=busy, typed=typed, worldwide_helplines=worldwide
            ),
            503,
        )
    )
    response.headers["Retry-After"] = "60"
    response.headers["Cache-Control"] = "no-store"  # it may hold what the member typed
    return response
