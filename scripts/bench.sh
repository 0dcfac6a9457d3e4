#!/usr/bin/env bash
# Prints the proxy benchmark: req/s and p50/p99 through the BFF vs. straight to the upstream
# (with their ratio), and the refresh storm (N parallel requests → refreshes at the provider).
# A benchmark, not a test: figures vary with the machine; compare the ratios.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_toolchain || die "no Rust toolchain" "run scripts/bootstrap.sh first"
cd "$TOPCLUCK_ROOT"
exec cargo run --quiet --release --locked -p server --example proxy_bench
