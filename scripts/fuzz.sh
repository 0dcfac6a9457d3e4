#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer; needs the nightly toolchain, so it is not part of
# scripts/test.sh). The targets live in server/fuzz (a crate of its own, outside the workspace)
# and call the real code: cookie opening (sealing and record decode), the proxy's path rules,
# the `/bff/login` query and callback body, COOP's token endpoint parameters, and the ID-token
# and logout-token checks. Each target runs for FUZZ_MINUTES from its committed corpus
# (server/fuzz/corpus/<target>) with its dictionary (server/fuzz/dicts), one at a time in one
# process (the machines have two cores); the corpus is then minimized (`cargo fuzz cmin`) so
# it stays small. Prints per target the minutes, executions, executions per second, corpus
# files and crashes; fails on any crash, whose input is left in server/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                         every target, FUZZ_MINUTES each
#   FUZZ_MINUTES=5 scripts/fuzz.sh          longer runs (default 2)
#   FUZZ_TARGETS="proxy_path id_token" scripts/fuzz.sh   some targets only
#   FUZZ_CMIN=0 scripts/fuzz.sh             leave the corpus as the runs grew it
#
# Reproduce a crash: cd server && cargo +nightly fuzz run -s none -a <target> fuzz/artifacts/<target>/<file>
# Installs cargo-fuzz from crates.io (cargo +nightly install cargo-fuzz --locked) when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINUTES=${FUZZ_MINUTES:-2}
ALL_TARGETS="cookie_open proxy_path login_body coop_token_params id_token"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
# No sanitizer: the code under test is safe Rust (a panic is the crash libFuzzer reports), and
# AddressSanitizer would halve the executions. Debug assertions (and overflow checks) are on.
FUZZ_FLAGS=(--sanitizer none --debug-assertions)
[[ "$MINUTES" =~ ^[0-9]+$ ]] && [ "$MINUTES" -gt 0 ] ||
  die "FUZZ_MINUTES must be a whole number of minutes, not '$MINUTES'" "e.g. FUZZ_MINUTES=3 scripts/fuzz.sh"
for target in $TARGETS; do
  [[ " $ALL_TARGETS " == *" $target "* ]] ||
    die "no fuzz target '$target'" "choose among: $ALL_TARGETS"
done

step "Toolchain: nightly and cargo-fuzz"
rustup run nightly rustc --version >/dev/null 2>&1 ||
  die "no nightly toolchain (libFuzzer's instrumentation needs it)" "rustup toolchain install nightly"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "    cargo-fuzz is missing: installing it from crates.io"
  cargo +nightly install cargo-fuzz --locked ||
    die "could not install cargo-fuzz" "check access to crates.io, then: cargo +nightly install cargo-fuzz --locked"
fi
ok "$(cargo +nightly fuzz --version)"

cd "$TOPCLUCK_ROOT/server"
log_dir=${TMPDIR:-/tmp}/topcluck-fuzz
mkdir -p "$log_dir"

step "Build the targets (release, instrumented)"
cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" >"$log_dir/build.log" 2>&1 ||
  die "the fuzz targets do not build" "see $log_dir/build.log"
ok "built: $ALL_TARGETS"

# count <dir>: the files in it (none when it is missing).
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

results=()
crashed=()
for target in $TARGETS; do
  step "Fuzz $target for $MINUTES min"
  corpus=fuzz/corpus/$target
  artifacts=fuzz/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  before=$(count "$artifacts")
  log=$log_dir/$target.log
  # The target's dictionary: the values it must meet exactly (a test key's id, a verifier).
  dict=()
  [ -f "fuzz/dicts/$target.dict" ] && dict=(-dict="fuzz/dicts/$target.dict")
  status=0
  # One process, no -jobs/-workers: the machines have two cores, shared.
  cargo +nightly fuzz run "${FUZZ_FLAGS[@]}" "$target" "$corpus" -- \
    -max_total_time=$((MINUTES * 60)) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "${dict[@]}" >"$log" 2>&1 || status=$?
  # libFuzzer's final stats (-print_final_stats=1): `stat::<name>: <value>`.
  executions=$(awk '/^stat::number_of_executed_units:/ {print $NF}' "$log" | tail -n1)
  per_second=$(awk '/^stat::average_exec_per_sec:/ {print $NF}' "$log" | tail -n1)
  crashes=$(($(count "$artifacts") - before))
  if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    crashed+=("$target")
    [ "$crashes" -gt 0 ] || crashes="run failed"
    grep -m1 -E "panicked at|ERROR: libFuzzer|deadly signal" "$log" | sed 's/^/    /' || true
  elif [ "${FUZZ_CMIN:-1}" != 0 ]; then
    # Edges only (no hit counters): the same coverage in a third of the files.
    cargo +nightly fuzz cmin "${FUZZ_FLAGS[@]}" "$target" "$corpus" -- -use_counters=0 \
      >"$log_dir/$target.cmin.log" 2>&1 ||
      die "minimizing the $target corpus failed" "see $log_dir/$target.cmin.log"
  fi
  results+=("$(printf '%-18s %7s %14s %9s %8s  %s' "$target" "$MINUTES" "${executions:-?}" \
    "${per_second:-?}" "$(count "$corpus")" "$crashes")")
  ok "$target: ${executions:-?} executions; log in $log"
done

step "Results"
printf '%-18s %7s %14s %9s %8s  %s\n' target minutes executions "exec/s" corpus crashes
printf '%s\n' "${results[@]}"
if [ "${#crashed[@]}" -gt 0 ]; then
  die "crashes in: ${crashed[*]} (inputs in server/fuzz/artifacts/<target>/)" \
    "reproduce with: cd server && cargo +nightly fuzz run ${FUZZ_FLAGS[*]} <target> fuzz/artifacts/<target>/<file>; fix the code and add a regression test"
fi
ok "no crashes"
