#!/usr/bin/env bash
# Sets up everything (first run only), then runs every check: formatting, clippy for the server
# build and the browser build, the Rust tests, and the Playwright tests in Chromium against the
# real server. Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TOPCLUCK_ROOT/scripts/bootstrap.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh and read its output"
cd "$TOPCLUCK_ROOT"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step "cargo fmt --check"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
else
  # Debian's Rust ships no rustfmt; rustup's stable one formats the same.
  RUSTUP_TOOLCHAIN=stable cargo fmt --all -- --check
fi

step "clippy: server build (ssr), all targets"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy: browser build (hydrate, $WASM_TARGET)"
cargo clippy -p app --lib --features hydrate --target $WASM_TARGET --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "end-to-end: Playwright in Chromium against the real server"
if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
  die "something already listens on 127.0.0.1:3000" "stop it (a running 'cargo leptos watch'?) and run the tests again"
fi
# Short-lived access tokens so the browser tests see renewals within seconds.
COOP_ACCESS_TOKEN_TTL=${COOP_ACCESS_TOKEN_TTL:-3} TOPCLUCK_REFRESH_SKEW=${TOPCLUCK_REFRESH_SKEW:-1} \
  cargo leptos end-to-end

step "all checks passed"
