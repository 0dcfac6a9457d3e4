#!/usr/bin/env bash
# Starts release builds of COOP and of the BFF, each in its own process on a free loopback port,
# for the benchmarks (scripts/bench.sh, scripts/measure.sh). Sourced, never run; needs lib.sh.
#
#   start_release_servers <bin-dir> <work-dir> [VAR=value ...]
#
# <bin-dir> holds `server`, `coop` and `examples/proxy_bench` (a release target directory);
# the servers' logs, COOP's data and the vault land in <work-dir>. VAR=value pairs are extra
# environment for COOP (e.g. COOP_AUTO_LOGIN=ada). Sets coop_url, bff_url, coop_pid, bff_pid,
# HELPER and secret (the BFF's client secret at COOP), and appends both PIDs to the caller's
# `pids` array, so its EXIT trap stops them.
# BENCH_LOG is RUST_LOG for both (default info); BENCH_SERVER another BFF binary to run;
# BENCH_SITE_ROOT another site (default target/site), e.g. an older commit's release build;
# BENCH_SERVER_ENV extra VAR=value words of environment for the BFF.
# BENCH_METRICS=1 gives the BFF a metrics listener (TOPCLUCK_METRICS_ADDR on a free loopback
# port) and sets metrics_url to its /metrics (else metrics_url is empty).

start_release_servers() {
  local bin_dir=$1 work=$2
  shift 2
  local server=${BENCH_SERVER:-$bin_dir/server} coop=$bin_dir/coop log=${BENCH_LOG:-info}
  HELPER=$bin_dir/examples/proxy_bench
  local binary
  for binary in "$server" "$coop" "$HELPER"; do
    [ -x "$binary" ] || die "no binary at $binary"
  done
  local coop_port bff_port
  secret=bench-client-secret
  coop_port=$("$HELPER" port)
  bff_port=$("$HELPER" port)
  while [ "$bff_port" = "$coop_port" ]; do bff_port=$("$HELPER" port); done
  coop_url=http://127.0.0.1:$coop_port
  bff_url=http://127.0.0.1:$bff_port
  metrics_url=
  local metrics=()
  if [ -n "${BENCH_METRICS:-}" ]; then
    local metrics_port
    metrics_port=$("$HELPER" port)
    while [ "$metrics_port" = "$coop_port" ] || [ "$metrics_port" = "$bff_port" ]; do metrics_port=$("$HELPER" port); done
    metrics=(TOPCLUCK_METRICS_ADDR=127.0.0.1:$metrics_port)
    metrics_url=http://127.0.0.1:$metrics_port/metrics
  fi

  step "starting COOP on $coop_url and the BFF on $bff_url (logs in $work)"
  # A day-long access token: no renewal happens during a run.
  (cd "$work" && exec env RUST_LOG="$log" COOP_ADDR=127.0.0.1:$coop_port COOP_DATA_DIR="$work/coop" \
    COOP_CLIENT_SECRET=$secret COOP_ACCESS_TOKEN_TTL=86400 \
    COOP_REDIRECT_URIS="$bff_url/callback" COOP_POST_LOGOUT_REDIRECT_URIS="$bff_url/" "$@" \
    "$coop" >"$work/coop.log" 2>&1) &
  coop_pid=$!
  pids+=("$coop_pid")
  timeout 40 "$HELPER" wait "$coop_url/.well-known/openid-configuration" ||
    die "COOP did not start" "see its log: $(tail -5 "$work/coop.log")"
  # The working directory is empty, so no .env is read; the vault's SQLite file lands in it.
  # The site (WASM, CSS) is the last `cargo leptos build --release`'s, and so is the hash.txt
  # beside the release binaries that names its files (`hash-files`): the pages link those names
  # (the server would refuse a hash.txt naming files the site does not have). Without a matching
  # hash.txt (no release build of the site here: the API benchmark needs none), unhashed names.
  local hashes=(LEPTOS_HASH_FILES=false) wasm_hash=
  [ -f "$bin_dir/hash.txt" ] && wasm_hash=$(sed -n 's/^wasm: *//p' "$bin_dir/hash.txt")
  local site=${BENCH_SITE_ROOT:-$TOPCLUCK_ROOT/target/site}
  if [ -n "$wasm_hash" ] && [ -f "$site/pkg/topcluck.$wasm_hash.wasm" ]; then
    hashes=(LEPTOS_HASH_FILES=true LEPTOS_HASH_FILE_NAME="$bin_dir/hash.txt")
  else
    echo "    no hash.txt in $bin_dir for target/site: the pages link unhashed names"
  fi
  # shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of VAR=value words
  (cd "$work" && exec env RUST_LOG="$log" LEPTOS_OUTPUT_NAME=topcluck LEPTOS_ENV=PROD "${hashes[@]}" \
    LEPTOS_SITE_ADDR=127.0.0.1:$bff_port LEPTOS_SITE_ROOT="$site" \
    TOPCLUCK_ISSUER=$coop_url TOPCLUCK_CLIENT_SECRET=$secret TOPCLUCK_API_URL=$coop_url/api \
    TOPCLUCK_COOKIE_KEYS=YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmVuY2gta2V5 TOPCLUCK_REFRESH_SKEW=0 \
    TOPCLUCK_VAULT_KEYS=bench:YmVuY2gtdmF1bHQta2V5LWJlbmNoLXZhdWx0LWtleS0= "${metrics[@]}" ${BENCH_SERVER_ENV:-} \
    "$server" >"$work/bff.log" 2>&1) &
  bff_pid=$!
  pids+=("$bff_pid")
  timeout 40 "$HELPER" wait "$bff_url/healthz" ||
    die "the BFF did not start" "its log: $(tail -5 "$work/bff.log")"
}

# Sets BIN_DIR (BENCH_BIN_DIR, or a release build of the BFF, COOP and the benchmark helper made
# now), work (a fresh temporary directory) and an empty `pids` array, and arranges for every PID
# in it to be stopped and `work` removed when the calling script exits.
release_binaries_and_work_dir() {
  if [ -n "${BENCH_BIN_DIR:-}" ]; then
    BIN_DIR=$BENCH_BIN_DIR
  else
    step "building the release BFF, COOP and the benchmark helper (several minutes the first time)"
    cargo build --quiet --release --locked -p server --bin server --example proxy_bench -p coop --bin coop
    BIN_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
      sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
  fi
  work=$(mktemp -d)
  pids=()
  trap stop_release_servers EXIT
}

# The EXIT trap of [release_binaries_and_work_dir]: every started process stopped (by PID), the
# work directory removed.
stop_release_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
