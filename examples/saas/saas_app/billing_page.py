"""The billing page: a server-rendered shell around the React app in ``frontend/``."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from .billing_activity import recent
from .billing_identity import billing_identity
from .extensions import flowglad

bp = Blueprint("billing", __name__)

#: The Vite build's entry file, relative to the static folder.
BUNDLE = "dist/billing.js"


def bundle_built() -> bool:
    static = current_app.static_folder or ""
    return os.path.isfile(os.path.join(static, BUNDLE))


@bp.route("/billing")
@login_required
def page() -> str:
    config = {
        # Where the hosted checkout sends the customer back to.
        "successUrl": url_for("billing.page", checkout="success", _external=True),
        "cancelUrl": url_for("billing.page", checkout="canceled", _external=True),
        # Where flask-flowglad serves the React SDK's routes (and the plan-change preview).
        "apiPrefix": flowglad.settings.url_prefix,
    }
    return render_template(
        "billing.html",
        frontend_config=config,
        bundle=BUNDLE if bundle_built() else None,
        checkout=request.args.get("checkout"),
        activity=recent(billing_identity(current_user._get_current_object()).external_id),
    )
