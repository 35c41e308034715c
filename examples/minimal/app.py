from dataclasses import dataclass

from flask import Flask, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, login_user

from flask_flowglad import Flowglad, FlowgladError, current_billing, feature_required


@dataclass
class User:  # your database model; flask-login's UserMixin gives the same, untyped
    id: str
    name: str
    email: str
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.id


USERS: dict[str, User] = {}  # your database

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True  # or FLOWGLAD_SECRET_KEY = "sk_test_..."
login_manager = LoginManager(app)
login_manager.user_loader(USERS.get)  # the user of a session, by id
flowglad = Flowglad(app)  # serves the React SDK at /api/flowglad/<action>


@app.post("/signup")
def signup() -> ResponseReturnValue:
    user = User(str(len(USERS) + 1), request.form["name"], request.form["email"])
    USERS[user.id] = user
    try:  # Flowglad asks apps to create the customer with the account...
        flowglad.for_customer(user.id, name=user.name, email=user.email).create_customer()
    except FlowgladError:  # ...but its first billing read creates it anyway: go on.
        app.logger.warning("Flowglad customer %s not created yet", user.id, exc_info=True)
    login_user(user)
    return redirect("/reports")


@app.get("/reports")
@feature_required("advanced_analytics")  # 402 without the feature, 401 logged out
def reports() -> dict[str, int]:
    balance = current_billing.check_usage_balance("api_calls")
    return {"api_calls_left": balance["availableBalance"] if balance else 0}
