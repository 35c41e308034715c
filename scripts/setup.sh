# Shared by demo.sh and test.sh (sourced, not run): the Python environment and the example's
# front end, each installed only when missing or out of date.

root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
example="$root/examples/saas"
frontend="$example/frontend"
python="${PYTHON:-python3}"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "'$1' is required: $2" >&2; exit 1; }
}

# install_python EXTRAS [PIP ARGUMENTS...]: .venv with flask-flowglad (editable, with EXTRAS),
# the example's needs and whatever the further arguments add (a requirements or constraints file).
install_python() {
    need "$python" "install Python 3.10 or newer"
    if [ ! -x "$root/.venv/bin/python" ]; then
        echo "==> Creating .venv"
        "$python" -m venv "$root/.venv"
    fi
    echo "==> Installing flask-flowglad${1:+ $1} and the example's requirements"
    (cd "$root" && "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "${1:-.}" -r "$example/requirements.txt" "${@:2}")
}

# npm_packages DIR: `npm ci` in DIR, only when its lock file changed since the last install.
npm_packages() {
    if [ ! -f "$1/node_modules/.package-lock.json" ] \
        || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
        echo "==> Installing npm packages in ${1#"$root"/}"
        (cd "$1" && npm ci --no-audit --no-fund)
    fi
}

# build_frontend: npm packages (only when the lock file changed) and the Vite build.
build_frontend() {
    need npm "install Node.js 20 or newer (it comes with npm)"
    if [ "$(npm --version | cut -d. -f1)" -lt 11 ]; then
        echo "npm 11 or newer is required to build the billing page (Vite 8):" \
            "npm install --global npm@11" >&2
        exit 1
    fi
    npm_packages "$frontend"
    echo "==> Building the billing page"
    (cd "$frontend" && npm run --silent build)
}

# build_fidelity: Flowglad's own published SDKs (@flowglad/server and @flowglad/react) and
# the page bundle of the fidelity test (tests/fidelity), which runs them against the sandbox.
build_fidelity() {
    need npm "install Node.js 20 or newer (it comes with npm)"
    npm_packages "$root/tests/fidelity/node"
    echo "==> Building the fidelity test's page"
    (cd "$root/tests/fidelity/node" && npm run --silent build)
}

# build_ui_tests: what the billing pages' browser tests inject into Chromium (axe-core, and
# htmx for the enhanced journey), from the lock file in tests/ui/node. Apps need neither.
build_ui_tests() {
    need npm "install Node.js 20 or newer (it comes with npm)"
    npm_packages "$root/tests/ui/node"
}
