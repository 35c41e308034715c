from flask import Flask, redirect, request
from flask_login import LoginManager, UserMixin, login_user

from flask_flowglad import Flowglad, current_billing, feature_required


class User(UserMixin):
    def __init__(self, user_id: str, name: str, email: str) -> None:
        self.id, self.name, self.email = user_id, name, email


USERS: dict[str, User] = {}  # your database

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True  # or FLOWGLAD_SECRET_KEY = "sk_test_..."
login_manager = LoginManager(app)
flowglad = Flowglad(app)  # serves the React SDK at /api/flowglad/<action>


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@app.post("/signup")
def signup():
    user = User(str(len(USERS) + 1), request.form["name"], request.form["email"])
    USERS[user.id] = user
    # Flowglad asks apps to create the customer with the account.
    flowglad.for_customer(user.id, name=user.name, email=user.email).create_customer()
    login_user(user)
    return redirect("/reports")


@app.get("/reports")
@feature_required("advanced_analytics")  # 402 without the feature, 401 logged out
def reports():
    balance = current_billing.check_usage_balance("api_calls")
    return {"api_calls_left": balance["availableBalance"] if balance else 0}
