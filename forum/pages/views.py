"""Pages every visitor can reach from every page: guidelines and crisis help."""

from flask import Blueprint, render_template

from ..access import PUBLIC, access
from ..extensions import db
from ..models import Helpline

bp = Blueprint("pages", __name__)


@bp.route("/guidelines")
@access(PUBLIC)
def guidelines():
    return render_template("pages/guidelines.html")


@bp.route("/help")
@access(PUBLIC)
def get_help():
    helplines = db.session.scalars(
        db.select(Helpline).order_by(Helpline.position, Helpline.id)).all()
    return render_template("pages/help.html", helplines=helplines)
