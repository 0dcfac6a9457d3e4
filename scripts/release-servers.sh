#!/usr/bin/env bash
# Starts release builds of COOP and of the BFF, each in its own process on a free loopback port,
# for the benchmarks (scripts/bench.sh, scripts/measure.sh, scripts/load.sh, scripts/faults.sh).
# Sourced, never run; needs lib.sh. [start_coop], [start_bff] and [start_postgres] start one
# of each (again on the same port, for a restart; several BFFs on one PostgreSQL).
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
  release_binaries "$bin_dir"
  local coop_port bff_port
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
  start_coop "$coop_port" "$bff_url/callback" "$bff_url/" "$@"
  start_bff "$bff_port" bff "${metrics[@]}"
}

# Checks the binaries in <bin-dir> (see [start_release_servers]) and sets HELPER, secret and
# what [start_coop] and [start_bff] run.
release_binaries() {
  local bin_dir=$1
  RELEASE_SERVER=${BENCH_SERVER:-$bin_dir/server}
  RELEASE_COOP=$bin_dir/coop
  RELEASE_BIN_DIR=$bin_dir
  HELPER=$bin_dir/examples/proxy_bench
  local binary
  for binary in "$RELEASE_SERVER" "$RELEASE_COOP" "$HELPER"; do
    [ -x "$binary" ] || die "no binary at $binary"
  done
  secret=bench-client-secret
}

#   start_coop <port> <redirect-uris> <post-logout-uris> [VAR=value ...]
# COOP on 127.0.0.1:<port> (space-separated redirect URIs), its data in $work/coop (so a COOP
# started again on the same port and data is the same provider), its log appended to
# $work/coop.log; waits until it answers. Sets coop_pid and appends it to `pids`.
start_coop() {
  local port=$1 redirects=$2 logouts=$3
  shift 3
  # A day-long access token: no renewal happens during a run (unless a VAR=value says otherwise).
  (cd "$work" && exec env RUST_LOG="${BENCH_LOG:-info}" COOP_ADDR=127.0.0.1:$port COOP_DATA_DIR="$work/coop" \
    COOP_CLIENT_SECRET=$secret COOP_ACCESS_TOKEN_TTL=86400 \
    COOP_REDIRECT_URIS="$redirects" COOP_POST_LOGOUT_REDIRECT_URIS="$logouts" "$@" \
    "$RELEASE_COOP" >>"$work/coop.log" 2>&1) &
  coop_pid=$!
  pids+=("$coop_pid")
  timeout 40 "$HELPER" wait "http://127.0.0.1:$port/.well-known/openid-configuration" ||
    die "COOP did not start" "see its log: $(tail -5 "$work/coop.log")"
}

#   start_bff <port> <name> [VAR=value ...]
# The BFF on 127.0.0.1:<port>, its provider COOP at $coop_url, its log appended to
# $work/<name>.log, VAR=value pairs (then BENCH_SERVER_ENV) as extra environment; waits until
# it answers. Every BFF started so gets the same cookie and vault keys. Sets bff_pid and appends
# it to `pids`.
start_bff() {
  local port=$1 name=$2
  shift 2
  # The working directory is empty, so no .env is read; the vault's SQLite file lands in it.
  # The site (WASM, CSS) is the last `cargo leptos build --release`'s, and so is the hash.txt
  # beside the release binaries that names its files (`hash-files`): the pages link those names
  # (the server would refuse a hash.txt naming files the site does not have). Without a matching
  # hash.txt (no release build of the site here: the API benchmark needs none), unhashed names.
  local hashes=(LEPTOS_HASH_FILES=false) wasm_hash=
  [ -f "$RELEASE_BIN_DIR/hash.txt" ] && wasm_hash=$(sed -n 's/^wasm: *//p' "$RELEASE_BIN_DIR/hash.txt")
  local site=${BENCH_SITE_ROOT:-$TOPCLUCK_ROOT/target/site}
  if [ -n "$wasm_hash" ] && [ -f "$site/pkg/topcluck.$wasm_hash.wasm" ]; then
    hashes=(LEPTOS_HASH_FILES=true LEPTOS_HASH_FILE_NAME="$RELEASE_BIN_DIR/hash.txt")
  else
    echo "    no hash.txt in $RELEASE_BIN_DIR for target/site: the pages link unhashed names"
  fi
  # shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of VAR=value words
  (cd "$work" && exec env RUST_LOG="${BENCH_LOG:-info}" LEPTOS_OUTPUT_NAME=topcluck LEPTOS_ENV=PROD "${hashes[@]}" \
    LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_SITE_ROOT="$site" \
    TOPCLUCK_ISSUER=$coop_url TOPCLUCK_CLIENT_SECRET=$secret TOPCLUCK_API_URL=$coop_url/api \
    TOPCLUCK_COOKIE_KEYS=YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmVuY2gta2V5 TOPCLUCK_REFRESH_SKEW=0 \
    TOPCLUCK_VAULT_KEYS=bench:YmVuY2gtdmF1bHQta2V5LWJlbmNoLXZhdWx0LWtleS0= "$@" ${BENCH_SERVER_ENV:-} \
    "$RELEASE_SERVER" >>"$work/$name.log" 2>&1) &
  bff_pid=$!
  pids+=("$bff_pid")
  timeout 40 "$HELPER" wait "http://127.0.0.1:$port/healthz" ||
    die "the BFF did not start" "its log: $(tail -5 "$work/$name.log")"
}

# A throwaway PostgreSQL 15 cluster, as coop/src/testkit/postgres.rs makes the tests' (initdb as
# the `postgres` user in a temporary directory of its own, trust authentication, loopback only,
# fsync off), on a free port: sets pg_url (its `postgres` database) and pg_dir. Stopped (its
# postmaster, by the PID in postmaster.pid) and removed by [stop_release_servers].
# TOPCLUCK_TEST_PG_BIN: another directory of PostgreSQL's programs.
start_postgres() {
  pg_bin=${TOPCLUCK_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}
  [ -x "$pg_bin/initdb" ] || die "no PostgreSQL in $pg_bin" "apt-get install postgresql-15, or set TOPCLUCK_TEST_PG_BIN"
  pg_dir=$(mktemp -d -t topcluck-pg-XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$pg_dir"
  pg_port=$("$HELPER" port)
  as_postgres "$pg_bin/initdb" --auth=trust --no-sync --encoding=UTF8 --locale=C -U postgres -D "$pg_dir/data" >/dev/null
  pg_ctl_cluster start -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
  pg_url=postgres://postgres@127.0.0.1:$pg_port/postgres
}

#   pg_ctl_cluster <start|restart|stop> [options]: pg_ctl on [start_postgres]'s cluster, waiting
#   (at most 30 s), its log appended to $pg_dir/postgres.log.
pg_ctl_cluster() {
  local action=$1
  shift
  as_postgres timeout 40 "$pg_bin/pg_ctl" "$action" -w -t 30 -D "$pg_dir/data" -l "$pg_dir/postgres.log" "$@" >/dev/null
}

# A command as the `postgres` user when we are root (PostgreSQL refuses root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
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

# The EXIT trap of [release_binaries_and_work_dir]: every started process stopped (by PID), then
# [start_postgres]'s cluster (fast shutdown, by its postmaster's PID), the work directories
# removed.
stop_release_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${pg_dir:-}" ]; then
    local postmaster
    postmaster=$(head -1 "$pg_dir/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$postmaster" ] && kill -INT "$postmaster" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -rf "$pg_dir"
  fi
  rm -rf "$work"
}
