#!/usr/bin/env bash
# Sets up everything (first run only) and runs TopCluck in development at http://127.0.0.1:3000,
# rebuilding and reloading the page on every change (`cargo leptos watch`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TOPCLUCK_ROOT/scripts/bootstrap.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh and read its output"
cd "$TOPCLUCK_ROOT"
step "cargo leptos watch (Ctrl-C stops it)"
exec cargo leptos watch "$@"
