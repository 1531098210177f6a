"""Admin pages: editing the "Get help now" list."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from ..access import ADMIN, access
from ..extensions import db
from ..forms import show_service_error
from ..models import Helpline
from ..services import ServiceError
from ..services import helplines as helpline_service
from .forms import DeleteHelplineForm, HelplineForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/helplines", methods=["GET", "POST"])
@access(ADMIN)
def helplines():
    form = HelplineForm()
    if form.validate_on_submit():
        try:
            helpline_service.save(None, form.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash("Helpline added.", "success")
            return redirect(url_for("admin.helplines"))
    rows = db.session.scalars(db.select(Helpline).order_by(Helpline.position, Helpline.id)).all()
    return render_template("admin/helplines.html", helplines=rows, form=form,
                           delete_form=DeleteHelplineForm()), 400 if form.errors else 200


@bp.route("/helplines/<int:helpline_id>", methods=["GET", "POST"])
@access(ADMIN)
def edit_helpline(helpline_id: int):
    helpline = db.get_or_404(Helpline, helpline_id)
    form = HelplineForm(obj=helpline)
    if form.validate_on_submit():
        try:
            helpline_service.save(helpline, form.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
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
