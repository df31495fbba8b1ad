#!/usr/bin/env bash
# Times Django's CookieStorage on herald's benchmark workloads (encode/decode of 1, 10 and
# 50 messages, truncation of 200 messages into 2048 bytes with both policies, a 1-message
# round trip) and writes target/django-bench.json (or $CARGO_TARGET_DIR/django-bench.json)
# for `cargo run -p herald-benches --bin report`.
# Makes benches/.venv-django with Django 5.2 (Python 3.11) or 6.x (Python >= 3.12).
# Set DJANGO_PYTHON to a Python that already has Django installed to use it instead
# (e.g. DJANGO_PYTHON=/path/to/.venv-django/bin/python); nothing is installed then.
# Usage: bash benches/django_bench.sh [extra args for django_bench.py, e.g. --quick]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${CARGO_TARGET_DIR:-target}/django-bench.json"
mkdir -p "$(dirname "$out")"
if [ -n "${DJANGO_PYTHON:-}" ]; then
  exec "$DJANGO_PYTHON" benches/django_bench.py --out "$out" "$@"
fi
py=python3
# A candidate counts only if it runs (a pyenv shim may exist for a version not selected).
for cand in python3.13 python3.12; do "$cand" -c '' >/dev/null 2>&1 && { py=$cand; break; }; done
if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  req='django>=6,<7'
else
  req='django==5.2.*'
fi
venv=benches/.venv-django
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import django' 2>/dev/null; then
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q "$req"
fi
"$venv/bin/python" benches/django_bench.py --out "$out" "$@"
