import re

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, Regexp

from ..forms import readable_text


class HelplineForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the service's name."),
                                           Length(max=120), readable_text])
    region = StringField("Region", description="Where it serves, e.g. \"United Kingdom\".",
                         validators=[DataRequired("Say where the service is available."),
                                     Length(max=80), readable_text])
    contact = StringField("How to reach it", description="A phone number, text number or "
                                                         "address.",
                          validators=[DataRequired("Say how to reach the service."),
                                      Length(max=200), readable_text])
    url = URLField("Website", validators=[
        Optional(), Length(max=300),
        # URL() alone lets "javascript://…" through; this page is for people in crisis.
        Regexp(r"^https?://", re.IGNORECASE, message="Enter a full address, starting https://"),
        URL(message="Enter a full address, starting https://")])
    description = TextAreaField("Description", validators=[Optional(), Length(max=500),
                                                           readable_text])
    position = IntegerField("Order on the page", default=0,
                            validators=[Optional(), NumberRange(min=0, max=1000)])
    submit = SubmitField("Save helpline")


class DeleteHelplineForm(FlaskForm):
    submit = SubmitField("Remove")
