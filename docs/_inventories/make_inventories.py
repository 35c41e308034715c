"""Write the intersphinx inventories the docs link through, without the network.

The build must not fetch inventories, so each project's ``objects.inv`` is made here from
the names the docs reference and the public page each is documented on. Add a name below
and run ``python docs/_inventories/make_inventories.py``; the files are checked in.
"""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: project -> (version, {name: (role, page#anchor)}); pages are relative to the base URL
#: that ``intersphinx_mapping`` in ``conf.py`` gives each project.
PROJECTS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "flask": (
        "3.1",
        {
            "flask.Flask": ("py:class", "api/#flask.Flask"),
            "flask.app.Flask": ("py:class", "api/#flask.Flask"),
            "flask.Flask.errorhandler": ("py:method", "api/#flask.Flask.errorhandler"),
            "flask.Flask.teardown_request": ("py:method", "api/#flask.Flask.teardown_request"),
            "flask.Blueprint": ("py:class", "api/#flask.Blueprint"),
            "flask.Response": ("py:class", "api/#flask.Response"),
            "flask.Request": ("py:class", "api/#flask.Request"),
            "flask.g": ("py:data", "api/#flask.g"),
            "flask.current_app": ("py:data", "api/#flask.current_app"),
            "flask.render_template": ("py:function", "api/#flask.render_template"),
            "flask.template_rendered": ("py:data", "api/#flask.template_rendered"),
            "flask.cli.AppGroup": ("py:class", "api/#flask.cli.AppGroup"),
        },
    ),
    "werkzeug": (
        "3.1",
        {
            "werkzeug.exceptions.HTTPException": (
                "py:class",
                "exceptions/#werkzeug.exceptions.HTTPException",
            ),
            "werkzeug.exceptions.Unauthorized": (
                "py:exception",
                "exceptions/#werkzeug.exceptions.Unauthorized",
            ),
            "werkzeug.exceptions.ServiceUnavailable": (
                "py:exception",
                "exceptions/#werkzeug.exceptions.ServiceUnavailable",
            ),
            "werkzeug.local.LocalProxy": ("py:class", "local/#werkzeug.local.LocalProxy"),
        },
    ),
    "requests": (
        "2.32",
        {
            "requests.Session": ("py:class", "api/#requests.Session"),
            "requests.Response": ("py:class", "api/#requests.Response"),
            "requests.adapters.BaseAdapter": ("py:class", "api/#requests.adapters.BaseAdapter"),
            "requests.adapters.HTTPAdapter": ("py:class", "api/#requests.adapters.HTTPAdapter"),
        },
    ),
    "marshmallow": (
        "4",
        {
            "marshmallow.Schema": (
                "py:class",
                "marshmallow.schema.html#marshmallow.schema.Schema",
            ),
            "marshmallow.schema.Schema": (
                "py:class",
                "marshmallow.schema.html#marshmallow.schema.Schema",
            ),
            "marshmallow.ValidationError": (
                "py:exception",
                "marshmallow.exceptions.html#marshmallow.exceptions.ValidationError",
            ),
            "marshmallow.exceptions.ValidationError": (
                "py:exception",
                "marshmallow.exceptions.html#marshmallow.exceptions.ValidationError",
            ),
        },
    ),
    "flask-login": (
        "0.6",
        {
            "flask_login.current_user": ("py:data", "#flask_login.current_user"),
            "flask_login.LoginManager": ("py:class", "#flask_login.LoginManager"),
            "flask_login.LoginManager.unauthorized": (
                "py:method",
                "#flask_login.LoginManager.unauthorized",
            ),
            "flask_login.login_required": ("py:function", "#flask_login.login_required"),
        },
    ),
}


def inventory(project: str, version: str, names: dict[str, tuple[str, str]]) -> bytes:
    """Sphinx's inventory format, version 2: a text header, then zlib-compressed lines."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(f"{name} {role} 1 {uri} -\n" for name, (role, uri) in sorted(names.items()))
    return header.encode() + zlib.compress(lines.encode())


def main() -> None:
    for project, (version, names) in PROJECTS.items():
        (HERE / f"{project}.inv").write_bytes(inventory(project, version, names))


if __name__ == "__main__":
    main()
