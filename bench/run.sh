#!/usr/bin/env bash
# Reproduce BENCHMARKS.md: build pvectl in release mode and measure it against fakepve.
#   bench/run.sh            every benchmark
#   bench/run.sh reads      only the named groups (reads, wall, power, waits, parallel, backup,
#                           provision, speed, scale, bulk, slowbulk, inside, upload, drain, complete)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/support/ensure_venv.sh
cargo build --release --locked
exec "$VENV/bin/python" bench/bench.py --pvectl target/release/pvectl "$@"
