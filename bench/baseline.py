"""The ceiling: a one-line Flask app under the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)
app.add_url_rule("/", "hello", lambda: "Hello, World!")
