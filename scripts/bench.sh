#!/usr/bin/env bash
# The proxy benchmark, measured the way a browser loads the BFF: an external load generator
# (wrk, keep-alive connections) against release builds of the BFF (`server`) and of COOP, each
# in its own process on a free loopback port. Prints, in one run: GET /api/eggs straight to
# COOP's egg API vs. through the BFF (req/s, p50, p99 at 1 and at 32 connections, and the
# ratios), the latency the BFF adds, and the BFF's CPU time per proxied request
# (utime+stime from /proc/<pid>/stat), with the BFF's /healthz and COOP as yardsticks; the edge
# layers' own cost in-process; then the refresh storm (in-process).
#
# A benchmark, not a test: figures vary with the machine; compare the ratios. It asserts only
# that every request succeeded. Loopback only; every run is bounded in time; both servers are
# stopped (by PID) at the end.
#
#   BENCH_SECONDS=10      seconds per measured run (plus 2 s of warm-up per path)
#   BENCH_SERVER=path     another BFF binary to measure (e.g. a build of an older commit)
#   BENCH_BIN_DIR=dir     take server, coop and examples/proxy_bench from this release directory
#                         instead of building them (e.g. another worktree's target/release)
#   BENCH_LOG=warn        RUST_LOG for both servers (default: info, as in production)
#   BENCH_METRICS=1       the BFF serves /metrics (TOPCLUCK_METRICS_ADDR) and its scrape after the
#                         load is printed at the end, with the storm's (`proxy_bench storm --metrics`)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$TOPCLUCK_ROOT/scripts/release-servers.sh"
cd "$TOPCLUCK_ROOT"

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
TARGETS="added p50 at 1 connection <= 0.3 ms; BFF CPU <= 150 us per proxied request"

if ! command -v wrk >/dev/null; then
  step "installing wrk, the HTTP load generator (Debian package 'wrk')"
  { as_root apt-get install -y wrk >/dev/null || { as_root apt-get update >/dev/null && as_root apt-get install -y wrk >/dev/null; }; } ||
    die "wrk is not installed and apt-get could not install it" "install Debian's 'wrk' package (apt-get install wrk), then run this again"
fi
select_toolchain || die "no Rust toolchain" "run scripts/bootstrap.sh first"

release_binaries_and_work_dir
SERVER=${BENCH_SERVER:-$BIN_DIR/server}
start_release_servers "$BIN_DIR" "$work"

credentials=$(timeout 60 "$HELPER" credentials "$bff_url" "$secret") ||
  die "could not log in through the BFF"
cookie=$(printf '%s\n' "$credentials" | sed -n 's/^COOKIE=//p')
token=$(printf '%s\n' "$credentials" | sed -n 's/^TOKEN=//p')
[ -n "$cookie" ] && [ -n "$token" ] || die "no session cookie or access token from the helper"

# wrk prints one machine-readable line at the end: requests, seconds, p50 and p99 (µs), errors.
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.6f %.1f %.1f %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
end
LUA

# run <seconds> <connections> <url> [header...]: prints "requests seconds p50_us p99_us".
run() {
  local seconds=$1 connections=$2 url=$3
  shift 3
  local headers=()
  for h in "$@"; do headers+=(-H "$h"); done
  local out
  out=$(timeout $((seconds + 20)) wrk -t1 -c"$connections" -d"${seconds}s" --timeout 5s \
    -s "$work/report.lua" "${headers[@]}" "$url") || die "wrk failed against $url" "$out"
  local line
  line=$(printf '%s\n' "$out" | grep '^RESULT ') || die "no result from wrk" "$out"
  set -- $line
  [ "$6" = 0 ] || die "$6 requests failed against $url" "$out"
  echo "$2 $3 $4 $5"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

direct=("$coop_url/api/eggs" "Authorization: Bearer $token")
proxied=("$bff_url/api/eggs" "Cookie: $cookie" "X-CSRF: 1")

step "warming up both paths"
run 2 4 "${direct[@]}" >/dev/null
run 2 4 "${proxied[@]}" >/dev/null

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R
for c in 1 32; do
  step "measuring at $c connection(s), ${SECONDS_PER_RUN} s per path"
  before=$(cpu_ticks "$coop_pid")
  R[direct$c]=$(run "$SECONDS_PER_RUN" "$c" "${direct[@]}")
  after=$(cpu_ticks "$coop_pid")
  R[coopcpu$c]=$(((after - before) * TICK_US))
  before=$(cpu_ticks "$bff_pid")
  R[bff$c]=$(run "$SECONDS_PER_RUN" "$c" "${proxied[@]}")
  after=$(cpu_ticks "$bff_pid")
  R[cpu$c]=$(((after - before) * TICK_US))
done
before=$(cpu_ticks "$bff_pid")
R[health1]=$(run "$SECONDS_PER_RUN" 1 "$bff_url/healthz")
after=$(cpu_ticks "$bff_pid")
R[healthcpu]=$(((after - before) * TICK_US))

awk -v d1="${R[direct1]}" -v b1="${R[bff1]}" -v d32="${R[direct32]}" -v b32="${R[bff32]}" \
  -v h1="${R[health1]}" -v cpu1="${R[cpu1]}" -v cpu32="${R[cpu32]}" -v secs="$SECONDS_PER_RUN" \
  -v hcpu="${R[healthcpu]}" -v ccpu1="${R[coopcpu1]}" -v ccpu32="${R[coopcpu32]}" \
  -v server="$SERVER" -v targets="$TARGETS" -v load="$LOAD" '
function ms(us) { return sprintf("%.3f ms", us / 1000) }
function row(label, r,   f) { split(r, f, " "); printf "  %-28s %10.0f %12s %12s\n", label, f[1] / f[2], ms(f[3]), ms(f[4]) }
function ratio(label, b, d,   x, y) { split(b, x, " "); split(d, y, " ");
  printf "  %-28s %10.2f %12.2f %12.2f\n", label, (x[1] / x[2]) / (y[1] / y[2]), x[3] / y[3], x[4] / y[4] }
BEGIN {
  printf "\nGET /api/eggs, HTTP/1.1 keep-alive, wrk -t1, %s s per run, loopback; release builds, each server in its own process\n", secs
  printf "BFF: %s; load average before the run: %s\n\n", server, load
  printf "  %-28s %10s %12s %12s\n", "", "req/s", "p50", "p99"
  split(b1, x, " "); split(b32, y, " "); split(d1, u, " ")
  printf " 1 connection\n"; row("straight to the egg API", d1); row("through the BFF", b1); ratio("ratio (BFF / straight)", b1, d1)
  row("the BFF'"'"'s own /healthz", h1)
  printf "32 connections\n"; row("straight to the egg API", d32); row("through the BFF", b32); ratio("ratio (BFF / straight)", b32, d32)
  printf "\nadded p50 at 1 connection: %s\n", ms(x[3] - u[3])
  printf "BFF CPU per proxied request: %.0f us at 1 connection (%d requests), %.0f us at 32 connections (%d requests)\n",
    cpu1 / x[1], x[1], cpu32 / y[1], y[1]
  split(h1, h, " "); split(d32, v, " ")
  printf "for comparison: the BFF'"'"'s CPU per /healthz request %.0f us; COOP'"'"'s per direct egg API request %.0f us (1 connection), %.0f us (32)\n",
    hcpu / h[1], ccpu1 / u[1], ccpu32 / v[1]
  printf "targets: %s\n\n", targets
}'

timeout 120 "$HELPER" edges 2>/dev/null || echo "(this helper does not measure the edge layers)"

if [ -n "$metrics_url" ]; then
  step "the BFF's /metrics after the load ($metrics_url)"
  timeout 30 "$HELPER" scrape "$metrics_url" | grep -v '^# ' || die "no scrape from $metrics_url"
fi

step "the refresh storm (in-process)"
if [ -n "$metrics_url" ]; then
  timeout 120 "$HELPER" storm --metrics
else
  timeout 120 "$HELPER" storm
fi
