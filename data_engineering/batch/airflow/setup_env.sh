#!/usr/bin/env bash
# Create (or reuse) Airflow's own Python 3.11 environment, reproducibly, from requirements.lock.
#
#   setup_env.sh            idempotent: a no-op when the env was built from the current lock
#   setup_env.sh --relock   re-resolve requirements.txt into requirements.lock, then build
#
# Env: TRIPCAST_AIRFLOW_VENV (default <repo>/.venv-airflow), UV (uv command), UV_CACHE_DIR as usual.
# tripcast is deliberately not installed here: the DAG imports it inside the task callables only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${TRIPCAST_AIRFLOW_VENV:-$ROOT/.venv-airflow}"
REQUIREMENTS="$HERE/requirements.txt"
LOCK="$HERE/requirements.lock"
STAMP="$VENV/.tripcast-lock-sha256"
if [[ -z "${UV:-}" ]]; then UV="$(command -v uv || echo "python3 -m uv")"; fi
export UV_COMPILE_BYTECODE=1            # byte-compile once at install, not on every DAG parse
export UV_LINK_MODE="${UV_LINK_MODE:-copy}"
export UV_NO_PROJECT=1                  # never pick up tripcast's pyproject/.venv from the repo root

# Serialise concurrent runs (two pytest sessions, a developer and CI) on the lock file itself.
exec 9<"$LOCK"
flock 9

if [[ "${1:-}" == "--relock" ]]; then
  $UV pip compile "$REQUIREMENTS" --universal --python-version 3.11 --quiet --output-file "$LOCK" \
    --custom-compile-command "data_engineering/batch/airflow/setup_env.sh --relock"
fi

pinned="$(sed -n 's/^apache-airflow==\([^ ;]*\).*/\1/p' "$LOCK")"
want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "Airflow env up to date: $VENV (apache-airflow $pinned)"
  exit 0
fi

# A missing, foreign or non-3.11 environment is rebuilt from scratch; a 3.11 one is synced in place.
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  $UV venv --quiet --clear --python 3.11 "$VENV"
fi
rm -f "$STAMP"
# `pip sync` installs exactly the lock (and removes anything else), so the env is the same everywhere.
$UV pip sync --quiet --python "$VENV/bin/python" "$LOCK"
"$VENV/bin/python" - "$pinned" <<'PY'
import sys
from importlib.metadata import version  # not `import airflow`: that would write an airflow.cfg somewhere

if version("apache-airflow") != sys.argv[1]:
    sys.exit(f"expected apache-airflow {sys.argv[1]}, the env has {version('apache-airflow')}")
PY
echo "$want" >"$STAMP"
echo "Airflow env ready: $VENV (apache-airflow $pinned)"
