#!/usr/bin/env bash
# Start a fake PVE 9 (fakepve, the version the tests pin) in the background with the guests of
# examples/guests.json, on https://127.0.0.2:8006 (FAKEPVE_PORT to change), user root@pam,
# password secret. Its vzdump writes archives as PVE's does (examples/fakepve_with_backups.py).
# It installs fakepve into .venv first if it is not there.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/support/ensure_venv.sh
port=${FAKEPVE_PORT:-8006}
log=$(mktemp)
"$VENV/bin/python" examples/fakepve_with_backups.py examples/guests.json --port "$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if grep -q "fakepve listening" "$log"; then
    cat "$log"
    echo
    echo "fakepve runs as process $pid; stop it with: kill $pid"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "fakepve did not start" >&2; exit 1; }
  sleep 0.1
done
cat "$log" >&2
echo "fakepve did not start within 10 s" >&2
exit 1
