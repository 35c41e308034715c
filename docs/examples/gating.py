from flask import Flask, redirect, render_template_string, url_for
from flask_login import LoginManager, UserMixin

from flask_flowglad import FeatureNotAvailable, Flowglad, feature_required

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True
login_manager = LoginManager(app)
flowglad = Flowglad(app)  # templates get current_billing, has_feature and usage_balance


@login_manager.user_loader
def load_user(user_id: str) -> UserMixin:
    user = UserMixin()
    user.id = user_id
    return user


@app.errorhandler(FeatureNotAvailable)
def upgrade(error: FeatureNotAvailable):
    return render_template_string(
        "<p>{{ feature }} is part of Pro. <a href='/pricing'>Upgrade</a></p>",
        feature=error.feature_slug,
    ), 402


@app.get("/reports")
@feature_required("advanced_analytics")  # 402 through the handler above
def reports():
    return "<h1>Reports</h1>"


@app.get("/export")
@feature_required("advanced_analytics", on_denied=lambda slug: redirect(url_for("pricing")))
def export():
    return "csv..."


@app.get("/pricing")
def pricing():
    return "<h1>Plans</h1>"


@app.get("/")
def dashboard():
    return render_template_string(
        "{% if current_billing.is_anonymous %}"
        "<a href='/pricing'>See the plans</a>"
        "{% elif has_feature('advanced_analytics') %}"
        "<a href='/reports'>Reports</a> ({{ usage_balance('api_calls') }} API calls left)"
        "{% else %}"
        "<a href='/pricing'>Unlock reports</a>"
        "{% endif %}"
    )
