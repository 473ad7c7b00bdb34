"""The WSGI entry point: `gunicorn autoapp:app`, `flask --app autoapp ...`."""

from openml_backend import create_app

app = create_app()
