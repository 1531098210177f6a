"""Admin pages: editing the "Get help now" list."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from .. import queries
from ..access import ADMIN, access
from ..extensions import db
from ..forms import show_service_error
from ..models import Helpline
from ..services import ServiceError
from ..services import helplines as helpline_service
from .forms import DeleteHelplineForm, HelplineForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _saved(helpline: Helpline | None, form: HelplineForm) -> bool:
    """Save through the service; a refusal goes beside its field and keeps the input."""
    try:
        helpline_service.save(helpline, form.data)
    except ServiceError as error:
        show_service_error(form, error)
        return False
    return True


@bp.route("/helplines", methods=["GET", "POST"])
@access(ADMIN)
def helplines():
    form = HelplineForm()
    if form.validate_on_submit() and _saved(None, form):
        flash("Helpline added.", "success")
        return redirect(url_for("admin.helplines"))
    return render_template("admin/helplines.html", helplines=queries.helplines(), form=form,
                           delete_form=DeleteHelplineForm()), 400 if form.errors else 200


@bp.route("/helplines/<int:helpline_id>", methods=["GET", "POST"])
@access(ADMIN)
def edit_helpline(helpline_id: int):
    helpline = db.get_or_404(Helpline, helpline_id)
    form = HelplineForm(obj=helpline)
    if form.validate_on_submit() and _saved(helpline, form):
        flash("Helpline saved.", "success")
        return redirect(url_for("admin.helplines"))
    return render_template("admin/edit_helpline.html", helpline=helpline,
                           form=form), 400 if form.errors else 200


@bp.route("/helplines/<int:helpline_id>/delete", methods=["POST"])
@access(ADMIN)
def delete_helpline(helpline_id: int):
    helpline = db.get_or_404(Helpline, helpline_id)
    if not DeleteHelplineForm().validate_on_submit():
        abort(400)
    helpline_service.delete(helpline)
    flash("Helpline removed.", "success")
    return redirect(url_for("admin.helplines"))
