#!/usr/bin/env bash
# Install everything (system packages, .venv, test extras) and run the whole check: lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
VENV="${HERMESH_VENV:-.venv}"
echo "[test] ruff" >&2
"$VENV/bin/ruff" check hermes services bridge tests bench
echo "[test] mypy" >&2
"$VENV/bin/mypy"
echo "[test] pytest" >&2
"$VENV/bin/pytest" "$@"
