"""The benchmark's WSGI app: Kindred as shipped, plus "floor" routes (bench only).

`gunicorn bench.floor_app:app` (from the repository root) serves the real app from
forum.create_app() with its settings from the environment, and two extra
routes that return a precomputed string through the same Flask stack (same
hooks, same security headers, same gunicorn workers) but with no database
and no template:

    /_bench/floor/topic   the same number of bytes as the page at BENCH_TOPIC_PATH
    /_bench/floor/board   the same number of bytes as the page at BENCH_BOARD_PATH

    /_bench/floor/<name>  the bytes of BENCH_FLOOR_DIR/<name>.html, read once per worker
                          (the benchmark writes a logged-in member's pages there)

What the real page costs beyond the floor is what the app itself spends
(queries, ORM, templates). These routes are never part of the production app.

`bench.floor_app:bare` is a bare Flask app with the same floor routes and nothing
else (no Kindred hooks, session, headers or limits): what Flask and gunicorn alone
cost to send those bytes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import Flask, Response

from forum import create_app

app = create_app()
bare = Flask("bench_bare_floor")
_bodies: dict[str, bytes] = {}
_FLOOR_NAME = re.compile(r"[a-z][a-z0-9-]*")


def _body(name: str) -> bytes | None:
    body = _bodies.get(name)
    folder = os.environ.get("BENCH_FLOOR_DIR")
    if body is None and folder and _FLOOR_NAME.fullmatch(name):
        path = Path(folder) / f"{name}.html"
        if path.is_file():
            body = _bodies[name] = path.read_bytes()
    return body


# Routes must be added before the app handles its first request.
@app.route("/_bench/floor/<name>")
def floor(name: str):
    body = _body(name)
    if body is None:
        return Response("no such floor", status=404, mimetype="text/plain")
    return Response(body, mimetype="text/html")


bare.add_url_rule("/_bench/floor/<name>", view_func=floor)


def _same_size_as(path: str) -> bytes:
    with app.test_client() as client:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}; is the database seeded?")
    return response.data  # the page's own bytes, served as a constant


for _name, _variable in (("topic", "BENCH_TOPIC_PATH"), ("board", "BENCH_BOARD_PATH")):
    if os.environ.get(_variable):
        _bodies[_name] = _same_size_as(os.environ[_variable])
