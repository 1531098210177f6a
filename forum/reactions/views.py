"""Sending and taking back supportive reactions (the buttons under each post).

A plain form: the browser posts it and lands back on the post. A topic page has one such
form for all its posts (its CSRF field once, not once a post: templates/boards/topic.html);
each button says which post and which reaction ("add" or "remove" = "<post id>:<kind>").
static/js/reactions.js sends the same form with fetch and asks for JSON, to change the
button in place.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from .. import permissions, queries
from ..access import VERIFIED, access
from ..extensions import db, limiter
from ..http import parse_id
from ..models import Post
from ..services import PermissionDenied, ServiceError, reactions

bp = Blueprint("reactions", __name__)

# Far above what a person clicks; enough to stop a script sending thousands.
REACTION_LIMIT = "60 per minute;600 per hour"


def _wants_json() -> bool:
    return (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    )


def _pressed() -> tuple[bool, int | None, str]:
    """(adding, post id, kind) from the pressed button; a missing or malformed value
    gives no post or an empty kind."""
    adding = "add" in request.form
    post_id, _, kind = request.form.get("add" if adding else "remove", "").partition(":")
    return adding, parse_id(post_id), kind


@bp.route("/react", methods=["POST"])
@access(VERIFIED)
@limiter.limit(REACTION_LIMIT)
def react():
    adding, post_id, kind = _pressed()
    if post_id is None:
        abort(400, "Choose one of the reactions shown under a post.")
    post = db.get_or_404(Post, post_id)
    if post.status not in queries.THREAD_STATUSES or not permissions.can_see_topic(
        current_user, post.topic
    ):
        abort(404)  # waiting, hidden or unreadable posts do not reveal that they exist
    try:
        if adding:
            reactions.add(current_user, post, kind)
        else:
            reactions.remove(current_user, post, kind)
    except PermissionDenied as error:
        abort(403, error.message)
    except ServiceError as error:
        abort(400, error.message)
    label = reactions.LABELS[kind]
    if _wants_json():
        sent = reactions.kinds_sent(current_user, post)
        return jsonify(
            post_id=post.id,
            kind=kind,
            label=label,
            sent=kind in sent,
            sent_labels=[reactions.LABELS[each] for each in reactions.KINDS if each in sent],
        )
    if adding:
        flash(
            f"You sent “{label}”. Its author sees how many reactions a post got, never from whom.",
            "success",
        )
    else:
        flash(f"You took back “{label}”.", "success")
    page = queries.page_of_post(post, current_app.config["POSTS_PER_PAGE"])
    return redirect(
        url_for(
            "boards.topic",
            topic_id=post.topic_id,
            page=page if page > 1 else None,
            _anchor=f"p{post.id}",
        )
    )
