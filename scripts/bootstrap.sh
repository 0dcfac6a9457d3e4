#!/usr/bin/env bash
# Installs everything TopCluck needs to build, run and test. Idempotent: each step says what it
# checks, skips what is already there, and stops with a message saying what to do when it fails.
# Nothing is downloaded except through the package registries (crates.io, npm, Debian).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TOPCLUCK_ROOT"

CARGO_LEPTOS_VERSION=0.3.11
RUSTUP_TARGET_TIMEOUT=${RUSTUP_TARGET_TIMEOUT:-25}

apt_install() {
  command -v apt-get >/dev/null ||
    die "missing: $*" "install them with your system's package manager, then run this again"
  if [ ! -f /tmp/.topcluck-apt-updated ]; then
    as_root apt-get update -q || die "apt-get update failed" "check the network or your apt sources"
    touch /tmp/.topcluck-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$@" ||
    die "apt-get install $* failed" "run it by hand to see why"
}

# The Debian fallback of ../shared/TOOLCHAIN.md: Debian's Rust 1.96 plus a wasm32 std built from
# its own sources, linked into rustup as $DEBIAN_TOOLCHAIN.
install_debian_toolchain() {
  local pkgs=()
  for p in rustc-web cargo-web rust-web-src rust-web-clippy lld-22; do
    dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
  done
  if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; else ok "Debian Rust packages present"; fi

  if ! ls /usr/lib/rustlib/$WASM_TARGET/lib/libstd-*.rlib >/dev/null 2>&1; then
    step "building the wasm32 standard library from Debian's sources (about a minute)"
    local scratch
    scratch=$(mktemp -d)
    mkdir -p "$scratch/src"
    printf '[package]\nname = "wasm-std-scratch"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["rlib"]\n' >"$scratch/Cargo.toml"
    : >"$scratch/src/lib.rs"
    (cd "$scratch" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release -q \
      --target $WASM_TARGET -Zbuild-std=std,panic_abort,panic_unwind,proc_macro) ||
      die "building the wasm32 std failed" "see the cargo output above"
    as_root mkdir -p /usr/lib/rustlib/$WASM_TARGET/lib
    find "$scratch/target/$WASM_TARGET/release/deps" -name '*.rlib' ! -name 'libwasm_std_scratch-*' \
      -exec cp {} /usr/lib/rustlib/$WASM_TARGET/lib/ \;
    rm -rf "$scratch"
  fi
  ok "wasm32 std in /usr/lib/rustlib/$WASM_TARGET"
  rustup toolchain list | grep -q "^$DEBIAN_TOOLCHAIN" || rustup toolchain link "$DEBIAN_TOOLCHAIN" /usr
  export RUSTUP_TOOLCHAIN=$DEBIAN_TOOLCHAIN
}

step "Rust toolchain with the $WASM_TARGET target"
command -v rustup >/dev/null || die "rustup not found" "install Rust with rustup (https://rustup.rs), then run this again"
if select_toolchain; then
  ok "using ${RUSTUP_TOOLCHAIN:-rustup default} ($(rustc --version))"
elif [ "${TOPCLUCK_RUST:-}" != debian ] && timeout "$RUSTUP_TARGET_TIMEOUT" rustup target add $WASM_TARGET && has_wasm_std ""; then
  ok "rustup target add $WASM_TARGET"
else
  echo "    rustup could not add $WASM_TARGET within ${RUSTUP_TARGET_TIMEOUT}s: using Debian's Rust instead"
  install_debian_toolchain
  ok "using $RUSTUP_TOOLCHAIN ($(rustc --version))"
fi
cargo clippy --version >/dev/null 2>&1 || echo "    note: clippy is missing for this toolchain; the test script needs it"

step "wasm-bindgen-cli matching Cargo.lock"
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$want" ] || die "no wasm-bindgen in Cargo.lock" "run 'cargo generate-lockfile' in $TOPCLUCK_ROOT"
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$want" ]; then
  ok "wasm-bindgen $have"
else
  echo "    installing wasm-bindgen-cli $want (have: ${have:-none}); a few minutes"
  # Not --locked: its lockfile names a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "=$want" || die "installing wasm-bindgen-cli failed" "see the cargo output above"
fi

step "cargo-leptos $CARGO_LEPTOS_VERSION"
have=$(cargo leptos --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$CARGO_LEPTOS_VERSION" ]; then
  ok "cargo-leptos $have"
else
  echo "    installing cargo-leptos (have: ${have:-none}); up to 30 minutes on 2 cores, once"
  cargo install cargo-leptos --version "=$CARGO_LEPTOS_VERSION" --locked --features no_downloads ||
    die "installing cargo-leptos failed" "see the cargo output above"
fi

step "Chromium for the end-to-end tests"
if [ -x /usr/bin/chromium ]; then
  ok "$(/usr/bin/chromium --version 2>/dev/null | head -n1)"
else
  apt_install chromium
fi

step "npm packages in end2end/ (Playwright, binaryen's wasm-opt)"
command -v npm >/dev/null || die "npm not found" "install Node.js 20 or later with npm"
stamp=end2end/node_modules/.package-lock.sha
sum=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
  ok "end2end/node_modules matches package-lock.json"
else
  (cd end2end && npm ci --no-audit --no-fund) || die "npm ci failed" "see the npm output above"
  echo "$sum" >"$stamp"
fi
wasm-opt --version >/dev/null 2>&1 && ok "$(wasm-opt --version)" || die "wasm-opt missing" "run 'npm ci' in end2end/"

step "bootstrap done"
