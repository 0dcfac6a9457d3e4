#!/usr/bin/env bash
# Prints build figures (not a test: nothing here passes or fails on a number):
#   release  — `cargo leptos build --release` time and the WASM bundle's size, raw and gzipped
#   reload   — under `cargo leptos watch`, seconds from saving a change to a page until the
#              server serves the changed page (the browser reloads over the live-reload socket)
# Usage: scripts/measure.sh [release|reload|all]   (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh first"
cd "$TOPCLUCK_ROOT"
what=${1:-all}
site=http://127.0.0.1:3000

measure_release() {
  step "release build"
  local start end wasm
  start=$(date +%s.%N)
  cargo leptos build --release >/tmp/topcluck-release.log 2>&1 || die "release build failed" "see /tmp/topcluck-release.log"
  end=$(date +%s.%N)
  wasm=target/site/pkg/topcluck.wasm
  printf 'release build: %.1f s\n' "$(echo "$end - $start" | bc)"
  printf 'release wasm: %d bytes raw, %d bytes gzipped (-9)\n' "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
  printf 'release js glue: %d bytes raw\n' "$(stat -c %s target/site/pkg/topcluck.js)"
}

measure_reload() {
  step "edit -> reload under cargo leptos watch"
  if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then die "127.0.0.1:3000 is in use" "stop the running server first"; fi
  # Globals: the EXIT trap runs after this function has returned.
  reload_page=app/src/pages/home.rs
  reload_backup=$(mktemp)
  cp "$reload_page" "$reload_backup"
  cargo leptos watch >/tmp/topcluck-watch.log 2>&1 &
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
  reload) measure_reload ;;
  all) measure_release; measure_reload ;;
  *) die "unknown measurement: $what" "use release, reload or all" ;;
esac
