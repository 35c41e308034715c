#!/usr/bin/env bash
# One command for a fresh clone: install what the example SaaS app needs (Python venv,
# npm packages, the Vite build of its billing page) and serve it on 127.0.0.1.
#
#   scripts/demo.sh              # http://127.0.0.1:5000
#   PORT=8000 scripts/demo.sh
#
# Billing runs on the in-process Flowglad sandbox unless FLOWGLAD_SECRET_KEY is set. The
# sandbox is kept in examples/saas/instance/flowglad-sandbox.db: a purchase survives a
# restart (scripts/demo.sh again), and `flask --app saas_app flowglad sandbox reset` in
# examples/saas empties it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
. "$root/scripts/setup.sh"
port="${PORT:-5000}"

install_python
build_frontend

if [ -n "${FLOWGLAD_SECRET_KEY:-}" ]; then
    billing="real Flowglad (FLOWGLAD_SECRET_KEY is set)"
else
    billing="simulated by the flask-flowglad sandbox (instance/flowglad-sandbox.db): no account, no network"
fi
cat <<MSG

  Example SaaS app:  http://127.0.0.1:$port
  Demo login:        demo@example.com / flowglad-demo
  Test card:         4242 4242 4242 4242
  Billing:           $billing

MSG
cd "$example"
exec "$root/.venv/bin/flask" --app saas_app run --host 127.0.0.1 --port "$port"
