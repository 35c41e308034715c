"""The app's extension objects, created once and bound in :func:`saas_app.create_app`."""

from __future__ import annotations

from flask_login import LoginManager

from flask_flowglad import Flowglad

flowglad = Flowglad()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
