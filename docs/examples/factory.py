from flask import Flask
from flask_login import LoginManager

from flask_flowglad import CustomerIdentity, Flowglad

flowglad = Flowglad()
login_manager = LoginManager()
ACCOUNTS = {  # your database
    "1": ("Ada", "ada@example.com"),
    "2": ("Grace", "grace@example.com"),
}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_prefixed_env()  # FLASK_FLOWGLAD_SECRET_KEY=sk_test_... and so on
    app.config.update(config or {})
    login_manager.init_app(app)
    flowglad.init_app(app)
    return app


@flowglad.customer_source
def every_account():
    """Every account, for ``flask flowglad backfill``."""
    for user_id, (name, email) in ACCOUNTS.items():
        yield CustomerIdentity(user_id, name=name, email=email)
