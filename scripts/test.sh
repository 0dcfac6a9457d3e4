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

step "clippy: server build (ssr + the embedded development provider), all targets"
cargo clippy --workspace --all-targets --locked "${DEV_FEATURES[@]}" -- -D warnings

step "clippy: production server build (ssr only: no embedded provider)"
cargo clippy -p server --no-default-features --features ssr --locked -- -D warnings
# ... and COOP's provider is not linked into it (its SQLite and JWT crates are not in the graph).
# `cargo tree -i` prints nothing (and exits 0) for a crate outside the graph, so a cargo tree
# that fails must not pass for that: its status is checked, and the same question about the
# development build must find the crate (else the check could not see it).
tree_errors=$(mktemp)
linking() { # <crate> <cargo tree feature arguments...>: what links it, or die when cargo tree fails
  local crate=$1 tree
  shift
  if ! tree=$(cargo tree -p server "$@" -e normal,build --locked -i "$crate" 2>"$tree_errors"); then
    cat "$tree_errors" >&2
    die "cargo tree failed while checking which server build links $crate" "read its output above"
  fi
  printf '%s' "$tree"
}
for crate in rusqlite jsonwebtoken; do
  development=$(linking "$crate" --features embedded-coop)
  [ -n "$development" ] \
    || die "cargo tree does not find $crate in the development build: the production check below cannot see it" "update the crate names in scripts/test.sh"
  production=$(linking "$crate" --no-default-features --features ssr)
  if [ -n "$production" ]; then
    printf '%s\n' "$production" >&2
    die "the production server build links $crate (COOP's provider)" "keep coop's dependency default-features = false in server/Cargo.toml"
  fi
done
rm -f "$tree_errors"

step "production server binary: refuses to start without TOPCLUCK_ISSUER, creates nothing"
# Built into target/debug like the others (deps/ keeps each feature set's build; only the
# target/debug/server link is this one until the next step's cargo test puts the development
# binary back there — so this step stays before the Rust tests and the site build).
cargo build -p server --bin server --no-default-features --features ssr --locked
production_check=$(mktemp -d)
set +e
refusal=$(cd "$production_check" && env -i PATH="$PATH" RUST_LOG=warn LEPTOS_OUTPUT_NAME=topcluck \
  LEPTOS_SITE_ADDR=127.0.0.1:0 TOPCLUCK_DATA_DIR="$production_check/data" \
  timeout 30 "$TOPCLUCK_ROOT/target/debug/server" 2>&1)
status=$?
set -e
created=$(ls -A "$production_check")
rm -rf "$production_check"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] \
  || die "the production server binary started without TOPCLUCK_ISSUER (exit status $status)" "read server/src/settings/provider.rs"
grep -q "TopCluck cannot start: configuration: TOPCLUCK_ISSUER: not set, and this build has no embedded provider" <<<"$refusal" \
  || die "the production server binary refused without naming TOPCLUCK_ISSUER: $refusal" "read server/src/settings/provider.rs"
[ -z "$created" ] || die "the refused production server created $created" "nothing may be written before the configuration is right"
ok "exit status $status: $(grep 'TopCluck cannot start' <<<"$refusal")"

step "clippy: browser build (hydrate, $WASM_TARGET)"
cargo clippy -p app --lib --features hydrate --target $WASM_TARGET --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked "${DEV_FEATURES[@]}"

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
