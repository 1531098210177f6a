"""The load scenario: Locust against gunicorn, then a checker (`python -m bench.load.run`)."""
