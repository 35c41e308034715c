"""A demo account in an empty database, so a first run can be tried at once."""

from __future__ import annotations

import click
from flask import Flask

from .auth import create_billing_customer
from .models import count_users, create_user


def seed_demo_user(app: Flask) -> None:
    demo = app.config.get("SAAS_DEMO_USER")
    if not demo:
        return
    with app.app_context():
        if count_users():
            return
        user = create_user(demo["email"], demo["name"], demo["password"])
        create_billing_customer(user)
    click.echo(f" * Demo login: {demo['email']} / {demo['password']}")
