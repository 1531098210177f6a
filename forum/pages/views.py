"""Pages every visitor can reach from every page: guidelines and crisis help."""

from flask import Blueprint, render_template

from .. import queries
from ..access import PUBLIC, access

bp = Blueprint("pages", __name__)


@bp.route("/guidelines")
@access(PUBLIC)
def guidelines():
    return render_template("pages/guidelines.html")


@bp.app_template_global()
def crisis_helplines():
    """For the panel shown after a post that suggests its author may be at risk."""
    return queries.helplines()


@bp.route("/help")
@access(PUBLIC)
def get_help():
    return render_template("pages/help.html", helplines=queries.helplines())
