"""A microblog-shaped app (app factory, blueprints, Flask-WTF forms and CSRFProtect, a
Bootstrap layout with an ``app_content`` block) that mounts the billing pages in a few
lines: the integration test of how a real server-rendered app takes them up."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, url_for
from flask_login import LoginManager, UserMixin, login_user
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

from flask_flowglad import Flowglad

csrf = CSRFProtect()
login = LoginManager()
login.login_view = "auth.login"
flowglad = Flowglad()


class User(UserMixin):
    def __init__(self, username: str) -> None:
        self.id = username


@login.user_loader
def load_user(user_id: str) -> User:
    return User(user_id)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired()])
    submit = SubmitField("Sign In")


main = Blueprint("main", __name__)
auth = Blueprint("auth", __name__)


@main.route("/")
def index() -> str:
    return render_template("index.html")


@main.route("/about")
def about() -> str:
    return render_template("about.html")


def login_view() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        login_user(User(form.username.data))
        return redirect(url_for("flowglad_ui.account"))
    return render_template("auth/login.html", form=form)


auth.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="microblog",
        # The billing pages, in the app's own layout: these few lines are all it takes.
        FLOWGLAD_UI=True,
        FLOWGLAD_UI_CONTENT_BLOCK="app_content",
        FLOWGLAD_REACT_ROUTES=False,
        **(config or {}),
    )
    csrf.init_app(app)
    login.init_app(app)
    flowglad.init_app(app)
    app.register_blueprint(main)
    app.register_blueprint(auth, url_prefix="/auth")
    return app
