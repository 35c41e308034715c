from dataclasses import dataclass

from flask import Flask
from flask_login import LoginManager, UserMixin, current_user

from flask_flowglad import CustomerIdentity, Flowglad


@dataclass
class Team:
    id: int
    name: str
    billing_email: str


class User(UserMixin):
    def __init__(self, user_id: str, team: Team) -> None:
        self.id, self.team = user_id, team


ACME = Team(1, "Acme", "billing@acme.test")
USERS = {"1": User("1", ACME), "2": User("2", ACME)}  # your database

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True
login_manager = LoginManager(app)
flowglad = Flowglad(app)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@flowglad.customer_loader
def billing_entity() -> CustomerIdentity | None:
    """The team pays: every member sees the same plan."""
    if not current_user.is_authenticated:
        return None
    team = current_user.team
    return CustomerIdentity(
        external_id=f"team-{team.id}", name=team.name, email=team.billing_email
    )
