from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import readable_text
from ..services.post_state import BODY_MAX, CONTENT_WARNING_MAX, TITLE_MAX
from ..services.posting import new_submission_key

BODY_HELP = (
    "Markdown works: *emphasis*, **strong**, [a link](https://example.org), > a quote, - a list."
)
WARNING_HELP = (
    'Optional. A short label such as "self-harm" or "bereavement": '
    "readers see it first and choose whether to open your post."
)


def _body_field(label: str = "Your message") -> TextAreaField:
    return TextAreaField(
        label,
        description=BODY_HELP,
        validators=[
            DataRequired("Write something before posting."),
            Length(max=BODY_MAX, message=f"Posts can be up to {BODY_MAX:,} characters."),
            readable_text,
        ],
    )


def _warning_field() -> StringField:
    return StringField(
        "Content warning",
        description=WARNING_HELP,
        validators=[
            Optional(),
            Length(
                max=CONTENT_WARNING_MAX,
                message=f"Keep the content warning to {CONTENT_WARNING_MAX} characters or fewer.",
            ),
            readable_text,
        ],
    )


class _PostForm(FlaskForm):
    preview = SubmitField("Preview")

    @property
    def wants_preview(self) -> bool:
        return bool(self.preview.data)


class _NewPostForm(_PostForm):
    # A fresh key each time the form is shown, carried through previews and errors:
    # sending the same form twice makes one post (see posting.SUBMISSION_KEY).
    submission_key = HiddenField(default=new_submission_key)


class TopicForm(_NewPostForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give your topic a title."),
            Length(max=TITLE_MAX, message=f"Keep the title to {TITLE_MAX} characters or fewer."),
            readable_text,
        ],
    )
    body = _body_field()
    content_warning = _warning_field()
    submit = SubmitField("Start topic")


class ReplyForm(_NewPostForm):
    body = _body_field("Your reply")
    content_warning = _warning_field()
    quote_of = HiddenField()
    submit = SubmitField("Post reply")


class EditForm(_PostForm):
    # Only shown (and required by the service) when editing a topic's first post.
    title = StringField(
        "Title",
        validators=[
            Optional(),
            Length(max=TITLE_MAX, message=f"Keep the title to {TITLE_MAX} characters or fewer."),
            readable_text,
        ],
    )
    body = _body_field()
    content_warning = _warning_field()
    submit = SubmitField("Save changes")


class DeleteForm(FlaskForm):
    submit = SubmitField("Delete my post")
