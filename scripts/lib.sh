#!/usr/bin/env bash
# Shared helpers for the project's scripts: step logging and toolchain selection.
# Sourced, never run. Selecting the toolchain is cheap once bootstrap has run.

TOPCLUCK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_TARGET=wasm32-unknown-unknown
# The name under which Debian's Rust (the fallback toolchain) is linked into rustup.
DEBIAN_TOOLCHAIN=topcluck-debian

# The server's features for a development build under cargo-leptos: Cargo.toml's `bin-features`
# (`ssr`, the production build) plus the embedded development provider, which runs when no
# TOPCLUCK_ISSUER is set. `cargo leptos build/watch/end-to-end $DEV_BIN_FEATURES`.
DEV_BIN_FEATURES=(--bin-features ssr,embedded-coop)
# The same for plain cargo (clippy, tests): the server's default `ssr` plus the embedded provider,
# so `cargo test` and `cargo leptos build $DEV_BIN_FEATURES` build the server with one feature set
# and share target/debug. `cargo clippy/test --workspace $DEV_FEATURES`.
DEV_FEATURES=(--features server/embedded-coop)

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf '\nerror: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf 'what to do: %s\n' "$2" >&2
  exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# True when the toolchain named in $1 (empty = rustup's default) has a wasm32 standard library.
has_wasm_std() {
  local sysroot
  sysroot=$(RUSTUP_TOOLCHAIN="${1:-${RUSTUP_TOOLCHAIN:-}}" rustc --print sysroot 2>/dev/null) || return 1
  ls "$sysroot/lib/rustlib/$WASM_TARGET/lib/"libstd-*.rlib >/dev/null 2>&1
}

# Exports RUSTUP_TOOLCHAIN when the Debian fallback is the toolchain in use, so cargo,
# cargo-leptos and clippy all use one compiler. Does not install anything.
# TOPCLUCK_RUST=debian forces the Debian fallback (to test the path a machine without
# rustup downloads takes).
select_toolchain() {
  if [ -n "${RUSTUP_TOOLCHAIN:-}" ]; then
    return 0
  fi
  if [ "${TOPCLUCK_RUST:-}" != debian ] && has_wasm_std ""; then
    return 0
  fi
  if rustup toolchain list 2>/dev/null | grep -q "^$DEBIAN_TOOLCHAIN" && has_wasm_std "$DEBIAN_TOOLCHAIN"; then
    export RUSTUP_TOOLCHAIN=$DEBIAN_TOOLCHAIN
    return 0
  fi
  return 1
}

# The "1.96.0" of a toolchain's rustc (pre-release tags such as -nightly dropped, as cargo does
# when it checks rust-version), or nothing when that toolchain has no working rustc.
toolchain_rustc_version() {
  rustup run "$1" rustc --version 2>/dev/null | awk '{print $2}' | sed 's/-.*//'
}

# True when version $1 >= version $2 (dotted numbers).
version_at_least() {
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# Where tools land: cargo installs into $CARGO_HOME/bin; the project's npm-installed tools
# (wasm-opt from binaryen, Playwright) live in end2end/node_modules/.bin.
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export PATH="$TOPCLUCK_ROOT/end2end/node_modules/.bin:$CARGO_HOME/bin:$PATH"
