"""The database unreachable or too busy: a calm 503, the member's text kept, and service
back by itself.

The app under test reaches its database through something the test can cut without
touching the shared server: on PostgreSQL a TCP proxy to it in this process, on SQLite
the folder holding a private copy of the database, moved away. The same tests run on both.
"""

from __future__ import annotations

import socket
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Topic
from forum.services import integrity

CALM = "can't reach its database just now"
BUSY = "is very busy just now"


class CuttableProxy:
    """Forwards TCP connections to the database; cut() drops them all and refuses new
    ones (as a crashed server or a broken network does), restore() lets them through."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.passing = threading.Event()
        self.passing.set()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.passing.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                thread = threading.Thread(target=self._pump, args=(source, target), daemon=True)
                self.threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, target: socket.socket):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, target)

    def _drop(self, *sockets: socket.socket):
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked on it
            except OSError:
                pass
            sock.close()
            with self.lock:
                self.sockets.discard(sock)

    def cut(self):
        self.passing.clear()
        with self.lock:
            alive = list(self.sockets)
        self._drop(*alive)

    def restore(self):
        self.passing.set()

    def close(self):
        self.cut()
        self.closing.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()


class Outage:
    """Makes the app's database unreachable, and reachable again."""

    def __init__(self, url: str, tmp_path):
        self.url = sa.engine.make_url(url)
        self.proxy = None
        if self.url.get_backend_name() == "postgresql":
            self.proxy = CuttableProxy((self.url.host or "127.0.0.1", self.url.port or 5432))
            self.app_url = self.url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
                hide_password=False
            )
        else:
            # A private copy, so moving it away leaves the suite's database alone.
            self.folder = tmp_path / "database"
            self.folder.mkdir()
            with (
                sqlite3.connect(self.url.database) as source,
                sqlite3.connect(self.folder / "kindred.db") as copy,
            ):
                source.backup(copy)
            copy.close()
            source.close()
            self.app_url = f"sqlite:///{self.folder / 'kindred.db'}"

    def cut(self, app):
        if self.proxy is not None:
            self.proxy.cut()  # open connections die under the app, as in a real outage
        else:
            with app.app_context():
                db.engine.dispose()  # SQLite connections would keep the moved file open
            self.folder.rename(self.folder.with_name("database-away"))

    def restore(self):
        if self.proxy is not None:
            self.proxy.restore()
        else:
            self.folder.with_name("database-away").rename(self.folder)

    def close(self):
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def outage(migrated_database, tmp_path):
    outage = Outage(migrated_database, tmp_path)
    yield outage
    outage.close()


@pytest.fixture
def app_config(app_config, outage):
    return {**app_config, "SQLALCHEMY_DATABASE_URI": outage.app_url}


def assert_calm_503(response, wording: str = CALM):
    assert response.status_code == 503
    text = response.text
    assert wording in text and "try again in a minute" in text
    for leak in ("Traceback", "OperationalError", "sqlalchemy", "psycopg", "sqlite3", 'File "'):
        assert leak not in text
    assert response.headers["Retry-After"] == "60"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "findahelpline.com" in text  # help stays one click away, without the database


def test_pages_answer_503_while_the_database_is_unreachable_and_recover_by_themselves(
    app, make, client, auth, outage
):
    board = make.board("anxiety")
    member = make.user("rowan")
    topic = make.topic(member, board, "Sleepless again")
    auth.login(member)
    assert client.get(f"/t/{topic.id}").status_code == 200

    outage.cut(app)
    assert_calm_503(client.get("/"))
    assert_calm_503(client.get(f"/t/{topic.id}"))
    assert_calm_503(app.test_client().get(f"/b/{board.slug}"))  # logged out too

    words = "Three nights now. <b>Writing</b> it down helps & I don't want to lose it."
    response = client.post(
        f"/t/{topic.id}/reply",
        data={"body": words, "content_warning": "sleep", "submit": "Post reply"},
    )
    assert_calm_503(response)
    page = response.text
    assert "What you wrote is here" in page
    assert (
        "Three nights now. &lt;b&gt;Writing&lt;/b&gt; it down helps &amp; I don&#39;t "
        "want to lose it.</textarea>" in page
    )
    assert "readonly>sleep</textarea>" in page
    assert "Post reply" not in page  # buttons are not "text you wrote"

    # A password is never put into a page, even the member's own.
    login = app.test_client().post(
        "/login", data={"login": "rowan", "password": "my secret password"}
    )
    assert_calm_503(login)
    assert "my secret password" not in login.text and "What you wrote" not in login.text

    outage.restore()
    assert client.get(f"/t/{topic.id}").status_code == 200  # no restart needed
    again = client.post(f"/t/{topic.id}/reply", data={"body": words, "submit": "Post reply"})
    assert again.status_code == 302
    assert "want to lose it." in client.get(f"/t/{topic.id}").text
    with app.app_context():
        assert integrity.find_problems() == []


@pytest.fixture
def hold_the_write_lock(app):
    """Another connection holds the lock a new post needs; the app waits a short while
    (not the production 15 s) before giving up."""
    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"

    def short_wait(dbapi_connection, connection_record, connection_proxy):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=200" if sqlite else "SET lock_timeout = 200")
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()  # SET outlives the transaction it was made in

    sa.event.listen(engine, "checkout", short_wait)
    holder = engine.raw_connection()
    holder_cursor = holder.cursor()

    def take():
        holder_cursor.execute("BEGIN IMMEDIATE" if sqlite else "LOCK TABLE posts IN EXCLUSIVE MODE")

    def release():
        holder.rollback()

    yield take, release
    holder.rollback()
    holder_cursor.close()
    holder.close()
    sa.event.remove(engine, "checkout", short_wait)


def test_a_database_too_busy_to_answer_in_time_is_a_503_and_the_text_comes_back(
    app, make, client, auth, hold_the_write_lock
):
    take, release = hold_the_write_lock
    board = make.board("grief")
    member = make.user("sam")
    auth.login(member)
    new_topic = {
        "title": "Missing my dad",
        "body": "It has been a year today.",
        "submit": "Start topic",
    }

    take()
    response = client.post(f"/b/{board.slug}/new", data=new_topic)
    assert_calm_503(response, BUSY)
    assert "nothing was changed" in response.text
    assert "readonly>Missing my dad</textarea>" in response.text
    assert "readonly>It has been a year today.</textarea>" in response.text
    release()

    with app.app_context():  # nothing half-written by the attempt
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Topic)) == 0
        assert integrity.find_problems() == []
    assert client.post(f"/b/{board.slug}/new", data=new_topic).status_code == 302
    assert "Missing my dad" in client.get(f"/b/{board.slug}").text
