#!/usr/bin/env bash
# Sets up everything (first run only), then runs every check: formatting, clippy for the server
# build and the browser build, the Rust tests, the Playwright tests in Chromium against the
# real server, and the release WASM's size budget. Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TOPCLUCK_ROOT/scripts/bootstrap.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh and read its output"
cd "$TOPCLUCK_ROOT"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A one-shot build (CI) gains nothing from incremental compilation, which doubles the disk used.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

[ -d target/debug ] || echo "    first build of the workspace: about 7-20 min on 2 cores (7 on an idle machine), once"
step "cargo fmt --check"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
else
  # Debian's Rust ships no rustfmt; rustup's stable one formats the same.
  RUSTUP_TOOLCHAIN=stable cargo fmt --all -- --check
fi

step "clippy: server build (ssr), all targets"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy: production server build (ssr only: no embedded provider)"
cargo clippy -p server --no-default-features --features ssr --locked -- -D warnings
# ... and COOP's provider is not linked into it (its SQLite and JWT crates are not in the graph).
for crate in rusqlite jsonwebtoken; do
  if cargo tree -p server --no-default-features --features ssr -e normal,build --locked -i "$crate" 2>/dev/null | grep -q .; then
    die "the production server build links $crate (COOP's provider)" "keep coop's dependency default-features = false in server/Cargo.toml"
  fi
done

step "clippy: browser build (hydrate, $WASM_TARGET)"
cargo clippy -p app --lib --features hydrate --target $WASM_TARGET --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "build the site (server + WASM) for the end-to-end tests"
# Built here first because `cargo leptos end-to-end` exits 0 when its own build fails.
cargo leptos build "${DEV_BIN_FEATURES[@]}"

step "end-to-end: Playwright in Chromium against the real server"
rm -f end2end/results/report.json
if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
  die "something already listens on 127.0.0.1:3000" "stop it (a running 'cargo leptos watch'?) and run the tests again"
fi
# Playwright's JSON report is how we know the tests ran and passed.
check_report() {
  local report=end2end/results/report.json
  [ -f "$report" ] || die "Playwright wrote no report: the end-to-end tests did not run ($1)" "read the output above"
  node -e '
    const s = require(process.argv[1]).stats;
    console.log(`playwright (${process.argv[2]}): ${s.expected} passed, ${s.unexpected + s.flaky} failed, ${s.skipped} skipped`);
    process.exit(s.expected > 0 && s.unexpected === 0 && s.flaky === 0 ? 0 : 1);
  ' "$TOPCLUCK_ROOT/$report" "$1" || die "end-to-end tests failed or did not run ($1)" "read the Playwright output above"
}
# Short-lived access tokens so the browser tests see renewals within seconds.
COOP_ACCESS_TOKEN_TTL=${COOP_ACCESS_TOKEN_TTL:-3} TOPCLUCK_REFRESH_SKEW=${TOPCLUCK_REFRESH_SKEW:-1} \
  cargo leptos end-to-end "${DEV_BIN_FEATURES[@]}"
check_report "every spec"

step "end-to-end: daily counting against a COOP that keeps one grant per client and farmer"
# As node-oidc-provider (resource indicators) or Google: consent adds to one grant per client and
# farmer, revoking any token revokes it all, the token response's scope is the access token's,
# access tokens are not revocable. Fresh data directories, so nothing of the first pass is reused.
rm -f end2end/results/report.json
per_client=$TOPCLUCK_ROOT/target/e2e-one-grant-per-client
rm -rf "$per_client"
COOP_GRANT_MODEL=per_client COOP_TOKEN_SCOPE=resource COOP_REVOKE_ACCESS_TOKENS=0 \
  COOP_DATA_DIR="$per_client/coop" TOPCLUCK_DATA_DIR="$per_client/topcluck" \
  COOP_ACCESS_TOKEN_TTL=${COOP_ACCESS_TOKEN_TTL:-3} TOPCLUCK_REFRESH_SKEW=${TOPCLUCK_REFRESH_SKEW:-1} \
  TOPCLUCK_E2E_ONLY=counting cargo leptos end-to-end "${DEV_BIN_FEATURES[@]}"
check_report "counting, one grant per client"

step "the browser bundle's size budget (release build of the front end)"
"$TOPCLUCK_ROOT/scripts/wasm-size.sh"

step "all checks passed"
