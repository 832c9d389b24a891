#!/usr/bin/env bash
# The one test command: build pvectl, install fakepve (pinned) into a local venv if absent, start it on
# a loopback address, and run every test (unit, protocol and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

FAKEPVE_VERSION=0.5.0
VENV=${PVECTL_TEST_VENV:-.venv}

if ! "$VENV/bin/python" -c "import sys, fakepve, cryptography; sys.exit(fakepve.__version__ != '$FAKEPVE_VERSION')" 2>/dev/null; then
  echo "tests: installing fakepve $FAKEPVE_VERSION into $VENV" >&2
  python3 -m venv "$VENV" || { echo "tests: python3 -m venv failed: install python3 and python3-venv" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "fakepve[crypto]==$FAKEPVE_VERSION"
fi

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
