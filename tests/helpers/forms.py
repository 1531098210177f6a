"""Reading forms back out of a page, and a small scene (a member's topic and reply) to post to."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post


@dataclass
class Control:
    attrs: dict
    value: str = ""
    tag: str = "input"
    options: list[str] = field(default_factory=list)  # a <select>'s option values

    @property
    def name(self) -> str:
        return self.attrs.get("name") or ""

    @property
    def kind(self) -> str:
        """The tag (textarea, select, button), or for an <input> its type (text when unsaid)."""
        if self.tag == "input":
            return (self.attrs.get("type") or "text").lower()
        return self.tag


@dataclass
class HtmlForm:
    """One <form> on the page, with every named control in it (all radios, all buttons)."""

    attrs: dict
    controls: list[Control] = field(default_factory=list)

    @property
    def action(self) -> str:
        return self.attrs.get("action") or ""

    @property
    def method(self) -> str:
        return (self.attrs.get("method") or "get").upper()


@dataclass
class FormPage:
    controls: dict[str, Control] = field(default_factory=dict)  # by name
    errors: dict[str, str] = field(default_factory=dict)  # "<id>-error" paragraphs, by id
    forms: list[HtmlForm] = field(default_factory=list)  # in page order


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = FormPage()
        self._textarea: Control | None = None
        self._select: Control | None = None
        self._error: str | None = None
        self._form: HtmlForm | None = None

    def _add(self, control: Control) -> Control:
        if self._form is not None:
            self._form.controls.append(control)
        return control

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = HtmlForm(attrs)
            self.page.forms.append(self._form)
        elif tag == "input" and attrs.get("name"):
            self.page.controls[attrs["name"]] = self._add(Control(attrs, attrs.get("value") or ""))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = self.page.controls[attrs["name"]] = self._add(
                Control(attrs, tag="textarea")
            )
        elif tag == "select" and attrs.get("name"):
            self._select = self.page.controls[attrs["name"]] = self._add(
                Control(attrs, tag="select")
            )
        elif tag == "option" and self._select is not None:
            value = attrs.get("value") or ""
            self._select.options.append(value)
            if "selected" in attrs or len(self._select.options) == 1:
                self._select.value = value
        elif tag == "button" and attrs.get("name"):
            self._add(Control(attrs, attrs.get("value") or "", tag="button"))
        elif tag == "p" and "error" in (attrs.get("class") or "").split() and attrs.get("id"):
            self._error = attrs["id"]
            self.page.errors[self._error] = ""

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            # Like a browser: one newline straight after <textarea> is not part of the value.
            value = self._textarea.value
            self._textarea.value = (
                value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            )
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None
        elif tag == "p":
            self._error = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._error is not None:
            self.page.errors[self._error] += data


def read_form(page_html: str) -> FormPage:
    reader = _FormReader()
    reader.feed(page_html)
    reader.close()
    return reader.page


@dataclass
class Scene:
    board_slug: str
    topic_id: int
    first_post_id: int
    reply_id: int

    def url(self, form: str) -> str:
        return {
            "new topic": f"/b/{self.board_slug}/new",
            "reply": f"/t/{self.topic_id}/reply",
            "edit first post": f"/p/{self.first_post_id}/edit",
            "edit reply": f"/p/{self.reply_id}/edit",
        }[form]


def make_scene(app, make) -> Scene:
    """A member (robin), a board (sleep), robin's topic and robin's reply to it."""
    member = make.user("robin")
    board = make.board("sleep")
    topic = make.topic(member, board, "First title", "First post")
    reply = make.reply(member, topic, "A reply")
    with app.app_context():
        first_id = db.session.scalar(
            sa.select(sa.func.min(Post.id)).where(Post.topic_id == topic.id)
        )
    return Scene(board.slug, topic.id, first_id, reply.id)
