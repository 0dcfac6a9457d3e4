#!/usr/bin/env bash
# Faults under load: the sessions load of scripts/load.sh (each session its own keep-alive
# client, a burst of 3 parallel GET /api/eggs every ~500 ms) against two release BFF processes
# on one throwaway PostgreSQL cluster, with COOP as a strict provider (5-second access tokens,
# rotating refresh tokens, no reuse grace) in a process of its own — while things break, one
# phase at a time:
#
#   baseline      nothing breaks
#   coop-kill     COOP killed (SIGKILL), started again ~5 s later on the same port and data
#   coop-slow     COOP's token endpoint waits 2 s before each request (/dev/faults latency_ms)
#   api-5xx       the egg API answers 503 for 10 s (/dev/faults api_status)
#   bff-term      BFF A stopped (SIGTERM, graceful) and started again on its port
#   bff-kill      BFF B killed (SIGKILL) and started again on its port
#   pg-restart    PostgreSQL restarted (pg_ctl restart -m fast)
#
# Each session's requests go to either BFF in turn, as behind a round-robin load balancer; a
# request refused a connection (its BFF is down) goes to the other one once: a failover.
# After each phase a row: requests, failed requests (by status and error code), sessions ended
# (401 reauthentication_required), replays (COOP's reuse detections) and failovers; at the end
# the table (server/examples/proxy_bench/faults.rs). Exits non-zero when any phase ended a
# session or replayed a refresh token (COOP's log is searched for reuses too, across its
# restarts). Failed requests are printed, not fatal: a killed API cannot answer.
#
# Loopback only; bounded (about logins + 7 × FAULTS_SECONDS, under a timeout); every process
# is stopped (by PID) and the cluster removed at the end, also on failure.
#
#   FAULTS_SESSIONS=300        sessions, half logged in at each BFF
#   FAULTS_SECONDS=25          seconds of load per phase (at least 15)
#   FAULTS_KEEP_LOGS=dir       copy the servers' and PostgreSQL's logs to dir at the end
#   BENCH_BIN_DIR, BENCH_SERVER, BENCH_LOG as in scripts/bench.sh (BENCH_LOG defaults to warn here)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$TOPCLUCK_ROOT/scripts/release-servers.sh"
cd "$TOPCLUCK_ROOT"

SESSIONS=${FAULTS_SESSIONS:-300}
PHASE_SECONDS=${FAULTS_SECONDS:-25}
[ "$PHASE_SECONDS" -ge 15 ] || die "FAULTS_SECONDS=$PHASE_SECONDS" "give each phase at least 15 s"
export BENCH_LOG=${BENCH_LOG:-warn}
select_toolchain || die "no Rust toolchain" "run scripts/bootstrap.sh first"

release_binaries_and_work_dir
release_binaries "$BIN_DIR"
keep_logs() {
  if [ -n "${FAULTS_KEEP_LOGS:-}" ]; then
    mkdir -p "$FAULTS_KEEP_LOGS"
    cp "$work"/*.log "$FAULTS_KEEP_LOGS"/ 2>/dev/null || true
    cp "$pg_dir/postgres.log" "$FAULTS_KEEP_LOGS"/ 2>/dev/null || true
  fi
  stop_release_servers
}
trap keep_logs EXIT

step "a throwaway PostgreSQL cluster"
start_postgres
echo "    $pg_url (data in $pg_dir)"

coop_port=$("$HELPER" port)
a_port=$("$HELPER" port)
b_port=$("$HELPER" port)
[ "$coop_port" != "$a_port" ] && [ "$coop_port" != "$b_port" ] && [ "$a_port" != "$b_port" ] &&
  [ "$pg_port" != "$coop_port" ] && [ "$pg_port" != "$a_port" ] && [ "$pg_port" != "$b_port" ] ||
  die "the same free port twice" "run it again"
coop_url=http://127.0.0.1:$coop_port
a_url=http://127.0.0.1:$a_port
b_url=http://127.0.0.1:$b_port

# A strict provider, as in scripts/load.sh, with its /dev/ endpoints (counters, faults).
strict=(COOP_ACCESS_TOKEN_TTL=5 COOP_REFRESH_TOKEN_MODE=rotate COOP_REUSE_GRACE_SECONDS=0 COOP_DEV_ENDPOINTS=1)
restart_coop() {
  start_coop "$coop_port" "$a_url/callback $b_url/callback" "$a_url/ $b_url/" "${strict[@]}"
}
# Both BFFs on the cluster; every login comes from one address: its limit is lifted.
bff_env=(TOPCLUCK_DATABASE_URL="$pg_url" TOPCLUCK_LOGIN_ATTEMPT_BURST=100000)
step "starting COOP on $coop_url, BFF A on $a_url and BFF B on $b_url (logs in $work)"
restart_coop
start_bff "$a_port" bff-a "${bff_env[@]}"
a_pid=$bff_pid
start_bff "$b_port" bff-b "${bff_env[@]}"
b_pid=$bff_pid

faults() { curl -sf -X "$1" -H 'content-type: application/json' ${2:+--data "$2"} "$coop_url/dev/faults" >/dev/null; }

step "$SESSIONS sessions, then 7 phases of ${PHASE_SECONDS} s"
mkfifo "$work/orders"
budget=$((SESSIONS / 2 + 7 * (PHASE_SECONDS + 30) + 120))
timeout "$budget" "$HELPER" faults "$a_url" "$b_url" "$coop_url" "$SESSIONS" "$work/ready" <"$work/orders" &
helper_pid=$!
pids+=("$helper_pid")
exec 3>"$work/orders"
until [ -e "$work/ready" ]; do
  kill -0 "$helper_pid" 2>/dev/null || die "the load helper ended before its sessions were logged in"
  sleep 0.5
done

phase() {
  phase_started=$SECONDS
  step "phase $1: $2"
  echo "phase $1" >&3
}
#   restart_bff <signal> <pid> <port> <name>: 3 s into the phase, the BFF <pid> is sent <signal>;
#   once it has ended, it is started again on <port> (sets bff_pid).
restart_bff() {
  sleep 3
  kill "-$1" "$2"
  wait "$2" 2>/dev/null || true
  start_bff "$3" "$4" "${bff_env[@]}"
}
rest_of_phase() {
  local left=$((phase_started + PHASE_SECONDS - SECONDS))
  if [ "$left" -gt 0 ]; then sleep "$left"; fi
}

phase baseline "nothing breaks"
rest_of_phase

phase coop-kill "COOP killed (SIGKILL), started again on the same port and data ~5 s later"
sleep 3
kill -KILL "$coop_pid"
wait "$coop_pid" 2>/dev/null || true
sleep 5
restart_coop
rest_of_phase

phase coop-slow "COOP's token endpoint waits 2 s before each request"
faults POST '{"latency_ms": 2000}'
rest_of_phase
faults DELETE

phase api-5xx "the egg API answers 503 for 10 s"
sleep 3
faults POST '{"api_status": 503, "api_status_seconds": 10}'
rest_of_phase
faults DELETE

phase bff-term "BFF A stopped (SIGTERM, graceful), started again on its port"
restart_bff TERM "$a_pid" "$a_port" bff-a
a_pid=$bff_pid
rest_of_phase

phase bff-kill "BFF B killed (SIGKILL), started again on its port"
restart_bff KILL "$b_pid" "$b_port" bff-b
b_pid=$bff_pid
rest_of_phase

phase pg-restart "PostgreSQL restarted (pg_ctl restart -m fast)"
sleep 3
pg_ctl_cluster restart -m fast
rest_of_phase

echo end >&3
exec 3>&-
status=0
wait "$helper_pid" || status=$?

step "COOP's log: refresh tokens reused (grants revoked), over all its runs"
reused=$(grep -c "refresh token reused" "$work/coop.log" || true)
echo "    $reused"
step "errors and warnings in the BFFs' logs, by message (the first 20 kinds)"
cat "$work"/bff-*.log | sed 's/\x1b\[[0-9;]*m//g' | grep -E ' (WARN|ERROR) ' |
  sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head -20 || true
[ "$reused" = 0 ] || die "COOP detected $reused reused refresh tokens" "see the BFFs' logs (FAULTS_KEEP_LOGS=dir keeps them)"
[ "$status" = 0 ] || die "sessions ended or refresh tokens were replayed (see the table)" "FAULTS_KEEP_LOGS=dir keeps the logs"
ok "no session ended, no refresh token replayed"
