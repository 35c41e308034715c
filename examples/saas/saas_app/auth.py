"""Sign up, log in, log out. Sign-up also creates the Flowglad customer."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from flask_flowglad import FlowgladError

from .billing_identity import billing_for
from .csrf import protect
from .extensions import login_manager
from .models import EmailTaken, User, create_user, find_user_by_email, get_user

bp = protect(Blueprint("auth", __name__))

MIN_PASSWORD_LENGTH = 8


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return get_user(int(user_id)) if user_id.isdigit() else None


def create_billing_customer(user: User) -> None:
    """Create the customer now, as Flowglad asks, so checkout works on the first visit.

    A failure does not fail the sign-up: the extension creates a missing customer on the
    first billing read, and ``flask flowglad backfill`` catches up in bulk.
    """
    try:
        billing_for(user).create_customer()
    except FlowgladError:
        current_app.logger.exception("Could not create the Flowglad customer for user %s", user.id)


def _safe_next(default: str) -> str:
    """Only follow a ``next`` that stays on this site."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("pages.index"))
    errors: list[str] = []
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not name:
            errors.append("Please enter your name.")
        if "@" not in email:
            errors.append("Please enter a valid email address.")
        if len(password) < MIN_PASSWORD_LENGTH:
            errors.append(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
        if not errors:
            try:
                user = create_user(email, name, password)
            except EmailTaken:
                errors.append("An account with this email already exists.")
            else:
                create_billing_customer(user)
                login_user(user)
                flash("Welcome! You are on the free plan.", "success")
                # A plan picked on the pricing page comes along in `next`.
                return redirect(
                    _safe_next(url_for(current_app.jinja_env.globals["billing_endpoint"]))
                )
    status = 400 if errors else 200
    return render_template("auth/signup.html", errors=errors), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("pages.index"))
    error = None
    if request.method == "POST":
        user = find_user_by_email(request.form.get("email", ""))
        if user is None or not user.check_password(request.form.get("password", "")):
            error = "Wrong email or password."
        else:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(url_for("pages.index")))
    status = 400 if error else 200
    return render_template("auth/login.html", error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("pages.index"))
