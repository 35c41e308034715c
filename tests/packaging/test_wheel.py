"""The built wheel is complete: it holds the package's data and nothing else, and
installed alone into a fresh virtual environment it runs the minimal example."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "minimal" / "app.py"

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, ROOT, cwd=out)
    (built,) = out.glob("flask_flowglad-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies from the index."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, cwd=home)
    return home


def test_the_wheel_holds_the_package_data_and_no_tests_or_examples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (
        {
            "flask_flowglad/py.typed",
            "flask_flowglad/sandbox/default_pricing.json",
            "flask_flowglad/protocol/openapi.py",
        }
        | {
            f"flask_flowglad/sandbox/templates/{page}.html"
            for page in ("base", "checkout", "index", "portal")
        }
        | {
            f"flask_flowglad/ui/templates/flowglad/{page}.html"
            for page in ("account", "pricing", "components", "cancel", "billing_unavailable")
        }
        | {"flask_flowglad/ui/static/flowglad.css"}
    )
    assert expected <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"flask_flowglad"}
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "flask_flowglad").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources <= names


def test_the_installed_wheel_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    where = run(
        installed / "bin" / "python",
        "-c",
        "import flask_flowglad; print(flask_flowglad.__file__)",
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed)


def test_the_flask_command_has_the_flowglad_group(installed: Path, tmp_path: Path) -> None:
    result = run(installed / "bin" / "flask", "--app", EXAMPLE, "flowglad", "--help", cwd=tmp_path)
    for command in ("check", "customer", "pricing", "backfill", "sandbox", "send-test-webhook"):
        assert command in result.stdout


def test_flowglad_check_passes_on_the_sandbox_from_the_wheel(
    installed: Path, tmp_path: Path
) -> None:
    # The check reads the sandbox's pricing model through the installed package's client,
    # so the wheel's JSON and every module the command needs are really there.
    result = run(installed / "bin" / "flask", "--app", EXAMPLE, "flowglad", "check", cwd=tmp_path)
    assert result.stdout.rstrip().endswith("OK")
    assert "Secret key:        accepted" in result.stdout
    assert "3 products" in result.stdout


#: An app with the billing pages, run by the wheel's Python (no Babel there: the fixed
#: formats are used) to render the pricing page from the wheel's templates and CSS.
BILLING_PAGES = """
import warnings
from flask import Flask
from flask_login import LoginManager
from jinja2 import DictLoader
from flask_flowglad import Flowglad
warnings.simplefilter("ignore")
app = Flask("shop")
app.config.update(SECRET_KEY="x", FLOWGLAD_SANDBOX=True, FLOWGLAD_UI=True)
LoginManager(app).user_loader(lambda user_id: None)
app.jinja_loader = DictLoader({"base.html": "<main>{% block content %}{% endblock %}</main>"})
Flowglad(app)
client = app.test_client()
page = client.get("/billing/pricing").get_data(as_text=True)
css = client.get("/billing/static/flowglad.css")
print(page.count('data-testid="plan-'), "$20.00" in page, css.status_code, css.mimetype)
"""


def test_the_billing_pages_render_from_the_wheel_without_babel(
    installed: Path, tmp_path: Path
) -> None:
    missing = run(installed / "bin" / "python", "-c", BABEL_MISSING, cwd=tmp_path)
    assert missing.stdout.strip() == "no babel"
    result = run(installed / "bin" / "python", "-c", BILLING_PAGES, cwd=tmp_path)
    assert result.stdout.split() == ["3", "True", "200", "text/css"]


BABEL_MISSING = (
    "import importlib.util; print('babel' if importlib.util.find_spec('babel') else 'no babel')"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served_example(installed: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    server = subprocess.Popen(
        [
            str(installed / "bin" / "flask"),
            "--app",
            str(EXAMPLE),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/reports", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the example did not start: {server.stdout.read()}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def test_the_installed_wheel_serves_the_minimal_example(served_example: str) -> None:
    browser = requests.Session()
    assert browser.get(served_example + "/reports", timeout=10).status_code == 401
    signup = browser.post(
        served_example + "/signup",
        data={"name": "Ada", "email": "ada@example.com"},
        timeout=10,
        allow_redirects=False,
    )
    assert signup.status_code == 302
    assert browser.get(served_example + "/reports", timeout=10).status_code == 402
    billing = browser.post(served_example + "/api/flowglad/customers/billing", json={}, timeout=10)
    assert billing.json()["data"]["customer"]["email"] == "ada@example.com"
    checkout = browser.post(
        served_example + "/api/flowglad/checkout-sessions/create",
        json={
            "priceSlug": "pro_monthly",
            "successUrl": served_example + "/reports",
            "cancelUrl": served_example + "/",
        },
        timeout=10,
    )
    assert checkout.status_code == 200, checkout.text
    hosted = browser.get(checkout.json()["data"]["url"], timeout=10)
    assert hosted.status_code == 200
    assert "4242" in hosted.text  # the sandbox's checkout template, from the wheel


def test_the_sdist_leaves_out_what_npm_installed_for_the_browser_tests(
    tmp_path: Path,
) -> None:
    """``graft tests`` would take the browser tests' node_modules along (tens of MB) once
    scripts/test.sh has run npm: MANIFEST.in prunes them."""
    import tarfile

    pytest.importorskip("build")
    run(sys.executable, "-m", "build", "--sdist", "-o", tmp_path, ROOT, cwd=ROOT)
    (sdist,) = tmp_path.glob("flask_flowglad-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(n.endswith("tests/ui/test_ui_pages.py") for n in names)
    assert not [n for n in names if "node_modules" in n or "__pycache__" in n]
    assert sdist.stat().st_size < 5_000_000
