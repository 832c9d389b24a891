#!/usr/bin/env bash
# Build pvectl's release artefacts into target/packages/:
#   pvectl-VERSION-x86_64-linux           the release binary (stripped; needs glibc)
#   pvectl-VERSION-x86_64-linux-musl      a static binary, when the musl target is installed,
#   pvectl-VERSION-x86_64-linux-static    else a fully static glibc binary
#   pvectl_VERSION-1_amd64.deb            the Debian package (cargo deb): binary, man pages,
#                                         bash/zsh/fish completions, README, licence
#
#   packaging/build.sh          all of them
#   packaging/build.sh deb      only the Debian package (what CI checks)
#   packaging/build.sh static   only the static binary
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case $what in all|deb|static) ;; *) echo "usage: packaging/build.sh [all|deb|static]" >&2; exit 2 ;; esac

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=target/packages
work=target/packaging
mkdir -p "$out"

say() { echo "packaging: $*" >&2; }

# A binary with no program interpreter is static.
is_static() { ! readelf -l "$1" | grep -q 'Requesting program interpreter'; }

release() {
  cargo build --release --locked
  cp target/release/pvectl "$out/pvectl-$version-x86_64-linux"
  say "$out/pvectl-$version-x86_64-linux: $(stat -c %s target/release/pvectl) bytes"
}

static() {
  local target bin name
  if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    name=pvectl-$version-x86_64-linux-musl
    # ring's C and assembly need a musl C compiler (Debian: apt install musl-tools).
    command -v musl-gcc >/dev/null || { say "musl-gcc is missing: apt install musl-tools"; exit 1; }
    CC_x86_64_unknown_linux_musl=${CC_x86_64_unknown_linux_musl:-musl-gcc} \
      cargo build --release --locked --target "$target"
  else
    say "the x86_64-unknown-linux-musl target is not installed (rustup target add x86_64-unknown-linux-musl):"
    say "building a fully static glibc binary instead (-C target-feature=+crt-static)"
    target=x86_64-unknown-linux-gnu
    name=pvectl-$version-x86_64-linux-static
    # With --target, RUSTFLAGS reach only the binary, not build scripts or proc macros.
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release --locked --target "$target"
  fi
  bin=target/$target/release/pvectl
  is_static "$bin" || { say "$bin is not static"; exit 1; }
  "$bin" --version >/dev/null || { say "$bin does not run"; exit 1; }
  cp "$bin" "$out/$name"
  say "$out/$name: static, $(stat -c %s "$bin") bytes"
}

deb() {
  command -v cargo-deb >/dev/null || { say "cargo-deb is missing: cargo install --locked cargo-deb"; exit 1; }
  cargo build --release --locked
  rm -rf "$work"
  mkdir -p "$work/man" "$work/completions"
  target/release/pvectl -q man --dir "$work/man"
  gzip -9n "$work"/man/*.1
  # Called as `pvectl` from PATH, the scripts call back `pvectl`, wherever it is installed.
  local shell file
  for shell in bash zsh fish; do
    case $shell in bash) file=pvectl ;; zsh) file=_pvectl ;; fish) file=pvectl.fish ;; esac
    PATH="$PWD/target/release:$PATH" COMPLETE=$shell pvectl > "$work/completions/$file"
  done
  cargo deb --no-build --output "$out/"
  local deb="$out/pvectl_${version}-1_amd64.deb"
  local contents
  contents=$(dpkg-deb --contents "$deb")
  for path in ./usr/bin/pvectl ./usr/share/man/man1/pvectl.1.gz ./usr/share/man/man1/pvectl-vm-start.1.gz \
    ./usr/share/bash-completion/completions/pvectl ./usr/share/zsh/vendor-completions/_pvectl \
    ./usr/share/fish/vendor_completions.d/pvectl.fish ./usr/share/doc/pvectl/README.md \
    ./usr/share/doc/pvectl/copyright; do
    grep -q " $path\$" <<<"$contents" || { say "$deb lacks $path"; exit 1; }
  done
  say "$deb: $(stat -c %s "$deb") bytes, $(grep -c man1/ <<<"$contents") man pages"
}

case $what in
  all) release; static; deb ;;
  deb) deb ;;
  static) static ;;
esac
