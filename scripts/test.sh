#!/usr/bin/env bash
# The whole test suite, on a fresh clone: creates .venv if needed, installs flask-flowglad
# with its test and docs dependencies and the example's, builds the example's billing page and
# the fidelity test's page (Flowglad's own SDKs), installs axe-core and htmx for the billing
# pages' browser tests, runs pytest.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh -k sandbox -x    # arguments go to pytest
#
# The browser tests need Debian's Chromium (apt-get install -y chromium): without it they
# skip, saying so; with CI set they fail instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
. "$root/scripts/setup.sh"

# Under the dev tools' pins: the suite's mypy run is the typing check's mypy.
install_python ".[test,e2e,docs]" -c "$root/requirements/dev.txt"
# Outside CI a missing or old npm only costs the browser tests, which then skip and say why.
if ! (build_frontend && build_fidelity && build_ui_tests); then
    if [ -n "${CI:-}" ]; then
        echo "test.sh: CI must build the example's billing page and the fidelity test's page" >&2
        exit 1
    fi
    echo "test.sh: the browser pages were not built: the browser tests will skip" >&2
fi

cd "$root"
exec "$root/.venv/bin/python" -m pytest "$@"
