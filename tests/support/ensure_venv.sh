# Sourced by tests/run.sh and bench/run.sh: make sure $VENV holds the pinned fakepve.
FAKEPVE_VERSION=0.5.0
VENV=${PVECTL_TEST_VENV:-.venv}

if ! "$VENV/bin/python" -c "import sys, fakepve, cryptography; sys.exit(fakepve.__version__ != '$FAKEPVE_VERSION')" 2>/dev/null; then
  echo "installing fakepve $FAKEPVE_VERSION into $VENV" >&2
  python3 -m venv "$VENV" || { echo "python3 -m venv failed: install python3 and python3-venv" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "fakepve[crypto]==$FAKEPVE_VERSION"
fi
