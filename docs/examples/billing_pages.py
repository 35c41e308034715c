from flask import Flask, redirect, request, url_for
from flask_login import LoginManager, UserMixin, login_user
from jinja2 import DictLoader

from flask_flowglad import Flowglad

app = Flask(__name__)
app.config.update(
    SECRET_KEY="change me",
    FLOWGLAD_SANDBOX=True,  # your FLOWGLAD_SECRET_KEY in production
    FLOWGLAD_UI=True,  # pricing, billing, plan changes, cancel, checkout at /billing
    FLOWGLAD_UI_SIGNUP_ENDPOINT="login",  # where a visitor who picks a plan goes
)
# Your templates/base.html: the billing pages fill its "content" block.
app.jinja_loader = DictLoader(
    {
        "base.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><nav><a href="/billing/pricing">Pricing</a> <a href="/billing/">Billing</a></nav>
{% for message in get_flashed_messages() %}<p role="status">{{ message }}</p>{% endfor %}
<main>{% block content %}{% endblock %}</main></body></html>"""
    }
)
login_manager = LoginManager(app)
flowglad = Flowglad(app)


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@login_manager.user_loader
def load_user(user_id: str) -> User:
    return User(user_id)


@app.route("/login")
def login() -> object:
    """A stand-in for your sign-up and log-in: here, anyone is user 1."""
    login_user(User("1"))
    return redirect(request.args.get("next") or url_for("flowglad_ui.account"))
