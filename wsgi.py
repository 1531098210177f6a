"""Entry point for `flask --app wsgi …` and `gunicorn wsgi:app`."""

from forum import create_app

app = create_app()
