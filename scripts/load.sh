#!/usr/bin/env bash
# The sessions load: many farmers' browsers at once against release builds of the BFF and of
# COOP, each in its own process on a free loopback port — COOP as a strict provider (5-second
# access tokens, rotating refresh tokens, no reuse grace), so every session renews every few
# seconds. Each session is its own keep-alive client sending a burst of 3 parallel
# GET /api/eggs every ~500 ms (server/examples/proxy_bench/load.rs). Sessions are added in
# stages; after each stage and after a quiet minute it prints the BFF's RSS (and peak), open
# descriptors and established connections (from browsers; to the upstream), and every failed
# request by status and error code.
#
# A benchmark, not a test: figures vary with the machine. Loopback only; bounded in time (about
# stages × LOAD_SECONDS + LOAD_IDLE + logins); both servers are stopped (by PID) at the end.
#
#   LOAD_STAGES=300,600,1000   session counts, one stage each
#   LOAD_SECONDS=60            seconds of load per stage
#   LOAD_IDLE=60               seconds of quiet before the last sample
#   LOAD_EVERY_MS=500          milliseconds between a session's bursts (a lighter load per session)
#   LOAD_BFF_ENV="A=1 B=2"     extra environment for the BFF (e.g. TOPCLUCK_API_MAX_CONNECTIONS=…)
#   BENCH_METRICS=1            the BFF serves /metrics, and its scrape is printed after the load
#   BENCH_BIN_DIR, BENCH_SERVER, BENCH_LOG as in scripts/bench.sh (BENCH_LOG defaults to warn here)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$TOPCLUCK_ROOT/scripts/release-servers.sh"
cd "$TOPCLUCK_ROOT"

STAGES=${LOAD_STAGES:-300,600,1000}
SECONDS_PER_STAGE=${LOAD_SECONDS:-60}
IDLE=${LOAD_IDLE:-60}
export BENCH_LOG=${BENCH_LOG:-warn}
select_toolchain || die "no Rust toolchain" "run scripts/bootstrap.sh first"

release_binaries_and_work_dir

# A strict provider: 5-second access tokens, rotation, no reuse grace (COOP's defaults for the
# last two), with COOP's /dev/counters to read the reuse detections from.
# Every login comes from one address here: the per-address login limit is lifted.
BENCH_SERVER_ENV="TOPCLUCK_LOGIN_ATTEMPT_BURST=100000 ${LOAD_BFF_ENV:-}" start_release_servers "$BIN_DIR" "$work" \
  COOP_ACCESS_TOKEN_TTL=5 COOP_REFRESH_TOKEN_MODE=rotate COOP_REUSE_GRACE_SECONDS=0 COOP_DEV_ENDPOINTS=1
coop_port=${coop_url##*:}

step "sessions: stages $STAGES, ${SECONDS_PER_STAGE} s each, then ${IDLE} s idle"
budget=$(( (SECONDS_PER_STAGE + 120) * $(tr ',' '\n' <<<"$STAGES" | wc -l) + IDLE + 60 ))
timeout "$budget" "$HELPER" sessions "$bff_url" "$bff_pid" "$coop_port" "$STAGES" "$SECONDS_PER_STAGE" "$IDLE"

step "COOP's counters after the load (reuse detections must be 0)"
curl -s "$coop_url/dev/counters" | tr -d '\n' | sed 's/"rows".*//' | cut -c1-400
echo

if [ -n "${metrics_url:-}" ]; then
  step "the BFF's /metrics after the load ($metrics_url)"
  timeout 30 "$HELPER" scrape "$metrics_url" | grep -v '^# ' | grep -v ' 0$' || die "no scrape from $metrics_url"
fi
