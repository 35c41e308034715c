#!/usr/bin/env bash
# The whole test suite, on a fresh clone: creates .venv if needed, installs flask-flowglad
# with its test dependencies and the example's, builds the example's billing page, runs pytest.
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

install_python ".[test,e2e]"
if command -v npm >/dev/null 2>&1; then
    build_frontend
elif [ -n "${CI:-}" ]; then
    echo "test.sh: npm is required in CI to build the example's billing page" >&2
    exit 1
else
    echo "test.sh: npm not found: the browser tests will skip (install Node.js 20+)" >&2
fi

cd "$root"
exec "$root/.venv/bin/python" -m pytest "$@"
