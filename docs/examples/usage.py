from flask import Flask, request
from flask_login import LoginManager, UserMixin, login_required

from flask_flowglad import Flowglad, current_billing

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True
login_manager = LoginManager(app)
flowglad = Flowglad(app)


@login_manager.user_loader
def load_user(user_id: str) -> UserMixin:
    user = UserMixin()
    user.id = user_id
    return user


@app.post("/api/search")
@login_required
def search():
    balance = current_billing.check_usage_balance("api_calls")  # None without the meter
    if not balance or balance["availableBalance"] <= 0:
        return {"error": "No API calls left on your plan."}, 402
    # The client's Idempotency-Key makes its retries count once; without one, each
    # request is a new event (the server makes a fresh transactionId).
    flowglad.current_customer().create_usage_event(
        usage_meter_slug="api_calls",
        amount=1,
        transaction_id=request.headers.get("Idempotency-Key"),
    )
    return {"results": []}
