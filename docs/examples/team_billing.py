from collections.abc import Iterable

from flask import Flask
from flask_login import LoginManager, UserMixin, current_user
from jinja2 import DictLoader

from flask_flowglad import CustomerIdentity, Flowglad
from flask_flowglad.authorization import ALL_BILLING_ACTIONS


class User(UserMixin):
    def __init__(self, user_id: str, org: str, role: str) -> None:
        self.id, self.org, self.role = user_id, org, role


USERS = {  # your database
    "ada": User("ada", "acme", "admin"),
    "bob": User("bob", "acme", "member"),
}

app = Flask(__name__)
app.config.update(SECRET_KEY="change me", FLOWGLAD_SANDBOX=True, FLOWGLAD_UI=True)
app.jinja_loader = DictLoader({"base.html": "{% block content %}{% endblock %}"})  # yours
login_manager = LoginManager(app)
flowglad = Flowglad(app)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@flowglad.customer_loader
def organization() -> CustomerIdentity | None:
    """The organization pays: its members share one Flowglad customer."""
    if not current_user.is_authenticated:
        return None
    return CustomerIdentity(f"org-{current_user.org}", name=current_user.org.title())


@flowglad.billing_authorizer
def billing_roles(customer: CustomerIdentity) -> Iterable[str]:
    """Admins do everything; members see the plan and may buy add-ons."""
    if customer.external_id != f"org-{current_user.org}":
        return set()
    if current_user.role == "admin":
        return ALL_BILLING_ACTIONS
    return {"read", "buy"}
