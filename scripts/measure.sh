#!/usr/bin/env bash
# Prints build and front-end figures (not a test: nothing here passes or fails on a number; the
# size budget that does fail is scripts/wasm-size.sh, run by the test command):
#   release  — `cargo leptos build --release --precompress` time and the bundle's sizes
#   front    — in Chromium against release builds of the BFF and COOP (COOP_AUTO_LOGIN, so its
#              form is skipped), each in its own process: first and repeat load to hydrated,
#              bytes transferred, and "Log in" clicked -> farm page; median of MEASURE_RUNS (5).
#              MEASURE_BIN_DIR=dir (with BENCH_SITE_ROOT=site) measures another build as it is,
#              e.g. an older commit's release build in another worktree
#   reload   — under `cargo leptos watch`, seconds from saving a change to a page until the
#              server serves the changed page (the browser reloads over the live-reload socket)
# Usage: scripts/measure.sh [release|front|reload|all]   (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$TOPCLUCK_ROOT/scripts/release-servers.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh first"
cd "$TOPCLUCK_ROOT"
what=${1:-all}
site=http://127.0.0.1:3000

measure_release() {
  step "release build"
  local start end
  start=$(date +%s.%N)
  cargo leptos build --release --precompress --cargo-locked >/tmp/topcluck-release.log 2>&1 ||
    die "release build failed" "see /tmp/topcluck-release.log"
  end=$(date +%s.%N)
  printf 'release build: %.1f s\n' "$(echo "$end - $start" | bc)"
  "$TOPCLUCK_ROOT/scripts/wasm-size.sh" --no-build
}

measure_front() {
  local bin_dir=${MEASURE_BIN_DIR:-}
  if [ -z "$bin_dir" ]; then
    [ -n "${MEASURE_NO_BUILD:-}" ] || measure_release
    step "release builds of COOP and the benchmark helper"
    cargo build --quiet --release --locked -p coop --bin coop -p server --example proxy_bench
    bin_dir=$(cargo metadata --format-version 1 --no-deps --locked |
      sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
  fi
  work=$(mktemp -d)
  pids=()
  trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  start_release_servers "$bin_dir" "$work" COOP_AUTO_LOGIN=ada
  step "front-end timings in Chromium (${MEASURE_RUNS:-5} runs)"
  (cd end2end && timeout 600 node perf/timings.mjs "$bff_url" "${MEASURE_RUNS:-5}")
}

measure_reload() {
  step "edit -> reload under cargo leptos watch"
  if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then die "127.0.0.1:3000 is in use" "stop the running server first"; fi
  # Globals: the EXIT trap runs after this function has returned.
  reload_page=app/src/pages/home.rs
  reload_backup=$(mktemp)
  cp "$reload_page" "$reload_backup"
  # As scripts/run.sh runs it: no hashed file names (watch's rebuilds would not rename them).
  LEPTOS_HASH_FILES=false cargo leptos watch >/tmp/topcluck-watch.log 2>&1 &
  reload_watch_pid=$!
  trap 'cp "$reload_backup" "$reload_page"; kill "$reload_watch_pid" 2>/dev/null; pkill -f "target/debug/server" 2>/dev/null || true' EXIT
  local page=$reload_page
  local deadline=$((SECONDS + 900))
  until curl -fs "$site/healthz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || die "watch did not come up" "see /tmp/topcluck-watch.log"
    sleep 0.5
  done
  sleep 3
  for n in 1 2 3; do
    local marker="Count your eggs, not your logins ($n)."
    local start end
    start=$(date +%s.%N)
    sed -i "s/Count your eggs, not your logins[^\"]*\"/${marker}\"/" "$page"
    until curl -fs "$site/" 2>/dev/null | grep -qF "$marker"; do
      [ $SECONDS -lt $deadline ] || die "the change never showed up" "see /tmp/topcluck-watch.log"
      sleep 0.2
    done
    end=$(date +%s.%N)
    printf 'edit -> reload #%d: %.1f s\n' "$n" "$(echo "$end - $start" | bc)"
    sleep 2
  done
}

case $what in
  release) measure_release ;;
  front) measure_front ;;
  reload) measure_reload ;;
  all) measure_front; measure_reload ;;
  *) die "unknown measurement: $what" "use release, front, reload or all" ;;
esac
