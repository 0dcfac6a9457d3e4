#!/usr/bin/env bash
# Sets up everything (first run only) and runs TopCluck in development at http://127.0.0.1:3000,
# rebuilding and reloading the page on every change (`cargo leptos watch`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TOPCLUCK_ROOT/scripts/bootstrap.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh and read its output"
cd "$TOPCLUCK_ROOT"
[ -d target/debug ] || echo "    first build of the workspace: about 7-20 min on 2 cores (7 on an idle machine), once"
step "cargo leptos watch (Ctrl-C stops it)"
# No hashed file names in development: watch's rebuilds write unhashed files and keep the first
# build's hash.txt, so the pages would keep linking the first build's bundle. The embedded
# development provider is built in (without TOPCLUCK_ISSUER it runs).
LEPTOS_HASH_FILES=false exec cargo leptos watch "${DEV_BIN_FEATURES[@]}" "$@"
