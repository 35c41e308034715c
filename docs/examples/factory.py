from flask import Flask
from flask_login import LoginManager

from flask_flowglad import Flowglad

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

    @app.cli.command("backfill-customers")
    def backfill_customers() -> None:
        """Create the Flowglad customer of every account made before billing."""
        for user_id, (name, email) in ACCOUNTS.items():
            flowglad.for_customer(user_id, name=name, email=email).create_customer()

    return app
