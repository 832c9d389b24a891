#!/usr/bin/env bash
# Size and start-up time of the release binary under several profile settings (BENCHMARKS.md,
# "Release build"). Each variant is a full release build (several minutes on 2 cores); the
# settings are given as CARGO_PROFILE_RELEASE_* variables, so Cargo.toml is not touched. Each
# binary is measured as built and stripped of its symbols (`strip`, as `strip = true` does).
#   bench/release-profiles.sh            every variant
#   bench/release-profiles.sh fat-cu1    only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/release-profiles
mkdir -p "$out"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT

variants=(
  "thin-cu4        LTO=thin CODEGEN_UNITS=4 OPT_LEVEL=3 PANIC=unwind STRIP=none"
  "fat-cu1         LTO=fat  CODEGEN_UNITS=1 OPT_LEVEL=3 PANIC=unwind STRIP=none"
  "fat-cu1-s       LTO=fat  CODEGEN_UNITS=1 OPT_LEVEL=s PANIC=unwind STRIP=none"
  "fat-cu1-z       LTO=fat  CODEGEN_UNITS=1 OPT_LEVEL=z PANIC=unwind STRIP=none"
  "fat-cu1-abort   LTO=fat  CODEGEN_UNITS=1 OPT_LEVEL=3 PANIC=abort  STRIP=none"
)

# Median wall time of N runs of a command that needs no server, in milliseconds.
startup() {
  python3 - "$@" <<'PY'
import os, statistics, subprocess, sys, time
runs = []
env = dict(os.environ, HOME=sys.argv[1], XDG_CONFIG_HOME=sys.argv[1] + '/.config')
for _ in range(100):
    t = time.perf_counter()
    subprocess.run(sys.argv[2:], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs.append(time.perf_counter() - t)
print('{0:.2f}'.format(statistics.median(runs) * 1000))
PY
}

printf '%-14s %10s %10s %14s %12s %12s %9s\n' variant bytes MiB "stripped MiB" "--version ms" "config ms" "build s"
for v in "${variants[@]}"; do
  read -r name settings <<<"$v"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  vars=()
  for s in $settings; do vars+=("CARGO_PROFILE_RELEASE_$s"); done
  started=$(date +%s)
  env "${vars[@]}" cargo build --release --locked -q
  took=$(( $(date +%s) - started ))
  cp target/release/pvectl "$out/pvectl-$name"
  bytes=$(stat -c %s "$out/pvectl-$name")
  strip -o "$out/pvectl-$name.stripped" "$out/pvectl-$name"
  stripped=$(stat -c %s "$out/pvectl-$name.stripped")
  version=$(startup "$home" "$out/pvectl-$name.stripped" --version)
  config=$(startup "$home" "$out/pvectl-$name.stripped" -o json config show)
  printf '%-14s %10s %10.2f %14.2f %12s %12s %9s\n' "$name" "$bytes" "$(echo "$bytes/1048576" | bc -l)" \
    "$(echo "$stripped/1048576" | bc -l)" "$version" "$config" "$took"
done
