#!/usr/bin/env bash
# The one test command: build pvectl, install fakepve (pinned) into a local venv if absent, start it on
# a loopback address, and run every test (unit, protocol and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

. tests/support/ensure_venv.sh

cargo build --all-targets --locked

workdir=$(mktemp -d)
addr_file="$workdir/control.addr"
"$VENV/bin/python" tests/support/fakepve_ctl.py --addr-file "$addr_file" 2>"$workdir/fakepve.log" &
ctl_pid=$!
trap 'kill $ctl_pid 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 1 300); do
  [ -s "$addr_file" ] && break
  kill -0 $ctl_pid 2>/dev/null || { cat "$workdir/fakepve.log" >&2; echo "tests: fakepve failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$addr_file" ] || { echo "tests: fakepve did not start within 30 s" >&2; exit 1; }
export PVECTL_FAKEPVE_CONTROL
PVECTL_FAKEPVE_CONTROL=$(cat "$addr_file")

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast "$@"
else
  cargo test --locked --no-fail-fast "$@"
fi
