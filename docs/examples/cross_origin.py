from flask import Flask, request
from flask_login import LoginManager, UserMixin

from flask_flowglad import Flowglad

#: The origins your React front end is served from.
FRONT_ENDS = {"https://app.example.com"}
TOKENS = {"token-of-user-1": "1"}  # your API tokens

app = Flask(__name__)
app.config["SECRET_KEY"] = "change me"
app.config["FLOWGLAD_SANDBOX"] = True
login_manager = LoginManager(app)
flowglad = Flowglad(app)


@login_manager.request_loader
def load_user_from_token(request) -> UserMixin | None:
    """Cross-origin fetches carry no cookie: the user comes from the bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user_id = TOKENS.get(token) if scheme == "Bearer" else None
    if user_id is None:
        return None
    user = UserMixin()
    user.id = user_id
    return user


@app.after_request
def allow_the_front_end(response):
    """CORS for the billing routes only, and only for your own front ends."""
    origin = request.headers.get("Origin")
    if origin in FRONT_ENDS and request.path.startswith("/api/flowglad/"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response
