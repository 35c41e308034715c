import os
import uuid

from flask import Flask, g, request
from flask_sqlalchemy import SQLAlchemy

from flask_flowglad import Flowglad, metered

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///app.db")
app.config["FLOWGLAD_SANDBOX"] = True
db = SQLAlchemy(app)
# The outbox is the app's own database: its tables join db.metadata.
app.config["FLOWGLAD_USAGE_OUTBOX"] = db
flowglad = Flowglad(app)

#: API tokens and their users (a real app keeps them in its database).
TOKENS = {"token-alice": "alice", "token-bob": "bob"}


class Report(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    owner = db.Column(db.String(64), nullable=False)
    title = db.Column(db.String(200), nullable=False)


@app.before_request
def authenticate():
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    g.user_id = TOKENS.get(token)


@flowglad.customer_loader
def current_customer():
    return g.get("user_id")


@app.post("/api/search")
@metered("api_calls")
def search():
    # One API call of the plan's credits, recorded once this view has succeeded.
    return {"results": []}


@app.post("/api/reports")
@metered("api_calls", amount=5)
def create_report():
    title = (request.get_json(silent=True) or {}).get("title")
    if not title:
        return {"error": "A report needs a title."}, 400  # a failure: nothing recorded
    db.session.add(Report(owner=g.user_id, title=title))
    db.session.commit()
    return {"title": title}, 201


@app.post("/api/exports")
def export():
    # The transactional outbox: the export and its usage commit (or roll back) together.
    customer = flowglad.current_customer()
    db.session.add(Report(owner=g.user_id, title="export"))
    customer.record_usage("api_calls", amount=10, transaction_id=f"export-{uuid.uuid4()}")
    db.session.commit()
    return {"exported": True}, 201


with app.app_context():
    db.create_all()  # the app's tables and the outbox's three
