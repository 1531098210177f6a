"""The benchmark's WSGI app: Kindred as shipped, plus "floor" routes (bench only).

`gunicorn --pythonpath bench floor_app:app` serves the real app from
forum.create_app() with its settings from the environment, and two extra
routes that return a precomputed string through the same Flask stack (same
hooks, same security headers, same gunicorn workers) but with no database
and no template:

    /_bench/floor/topic   the same number of bytes as the page at BENCH_TOPIC_PATH
    /_bench/floor/board   the same number of bytes as the page at BENCH_BOARD_PATH

What the real page costs beyond the floor is what the app itself spends
(queries, ORM, templates). These routes are never part of the production app.
"""

from __future__ import annotations

import os

from flask import Response

from forum import create_app

app = create_app()
_bodies: dict[str, bytes] = {}


# Routes must be added before the app handles its first request.
@app.route("/_bench/floor/<name>")
def floor(name: str):
    body = _bodies.get(name)
    if body is None:
        return Response("no such floor", status=404, mimetype="text/plain")
    return Response(body, mimetype="text/html")


def _same_size_as(path: str) -> bytes:
    with app.test_client() as client:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}; is the database seeded?")
    return response.data  # the page's own bytes, served as a constant


for _name, _variable in (("topic", "BENCH_TOPIC_PATH"), ("board", "BENCH_BOARD_PATH")):
    if os.environ.get(_variable):
        _bodies[_name] = _same_size_as(os.environ[_variable])
