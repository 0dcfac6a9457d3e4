#!/usr/bin/env bash
# Proves the first run of a brand-new machine, on this one, without touching what this machine
# already has: a clean clone of the committed tree, an empty CARGO_HOME, an empty npm cache, and
# no cargo-leptos or wasm-bindgen on PATH (only rustup's own proxies). It runs the bootstrap,
# then the first build of the workspace (`cargo leptos build`), and prints each exit code and
# wall time. Not part of CI: cold, it takes most of an hour on 2 cores.
#
#   scripts/bootstrap.sh --fresh-check [rustup|debian] [--purge] [--keep]
#     rustup   (default) the path a machine where `rustup target add` works takes
#     debian   TOPCLUCK_RUST=debian: Debian's rustc-web 1.96 for everything
#     --purge  debian only: first remove what a previous Debian run left outside this project
#              (the rustc-web packages, the wasm32 std under /usr/lib/rustlib, the linked
#              rustup toolchain), so it is installed again as on a new machine. Needs root;
#              the run itself puts all of it back.
#     --keep   keep the scratch directory (clone, CARGO_HOME, target) instead of deleting it
#
# Apt's Chromium is left alone (reinstalling a browser proves little); the bootstrap's own
# timing table shows it when it is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mode=rustup purge=no keep=no
for a in "$@"; do
  case $a in
    rustup | debian) mode=$a ;;
    --purge) purge=yes ;;
    --keep) keep=yes ;;
    *) die "unknown argument: $a" "scripts/bootstrap.sh --fresh-check [rustup|debian] [--purge] [--keep]" ;;
  esac
done

if ! git -C "$TOPCLUCK_ROOT" diff --quiet HEAD 2>/dev/null; then
  echo "note: uncommitted changes are not part of the check: it clones the committed tree ($(git -C "$TOPCLUCK_ROOT" rev-parse --short HEAD))"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/topcluck-fresh-$mode.XXXXXX")
cleanup() {
  if [ $keep = yes ]; then echo "kept: $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

if [ $purge = yes ]; then
  [ $mode = debian ] || die "--purge goes with debian" "scripts/bootstrap.sh --fresh-check debian --purge"
  step "purging the Debian toolchain a previous run installed"
  rustup toolchain uninstall "$DEBIAN_TOOLCHAIN" >/dev/null 2>&1 || true
  as_root rm -rf /usr/lib/rustlib/$WASM_TARGET
  DEBIAN_FRONTEND=noninteractive as_root apt-get remove -y -q rustc-web cargo-web rust-web-src rust-web-clippy lld-22 >/dev/null ||
    die "apt-get remove failed" "run it by hand to see why"
fi

step "a clean clone and an empty CARGO_HOME in $scratch"
git clone -q "$TOPCLUCK_ROOT" "$scratch/clone"
mkdir -p "$scratch/cargo-home" "$scratch/bin" "$scratch/cache" "$scratch/npm-cache"
# rustup's proxies only: the same binary dispatches on its name.
rustup_bin=$(readlink -f "$(command -v rustup)")
for t in rustup cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
  ln -s "$rustup_bin" "$scratch/bin/$t"
done
# PATH without any directory that holds cargo-leptos or wasm-bindgen (e.g. ~/.cargo/bin).
clean_path=$scratch/bin
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -e "$d/cargo-leptos" ] || [ -e "$d/wasm-bindgen" ] && continue
  clean_path=$clean_path:$d
done

fresh_env=(env -u RUSTUP_TOOLCHAIN -u CARGO_TARGET_DIR -u TOPCLUCK_RUST
  PATH="$clean_path" CARGO_HOME="$scratch/cargo-home" TOPCLUCK_TOOLS_CACHE="$scratch/cache"
  npm_config_cache="$scratch/npm-cache" CARGO_TERM_COLOR=never)
[ $mode = debian ] && fresh_env+=(TOPCLUCK_RUST=debian)

results=()
run_timed() { # run_timed NAME LOG COMMAND...
  local name=$1 log=$2 start=$SECONDS rc=0
  shift 2
  step "$name (log: $log)"
  "$@" > >(tee "$log") 2>&1 || rc=$?
  results+=("$(printf '%-40s exit %d  %5d s' "$name" $rc $((SECONDS - start)))")
  return $rc
}

cd "$scratch/clone"
rc=0
run_timed "scripts/bootstrap.sh ($mode)" "$scratch/bootstrap.log" "${fresh_env[@]}" ./scripts/bootstrap.sh || rc=$?
if [ $rc = 0 ]; then
  run_timed "first build: cargo leptos build" "$scratch/build.log" \
    "${fresh_env[@]}" bash -c 'source scripts/lib.sh && select_toolchain && cargo leptos build' || rc=$?
fi

step "fresh check ($mode) on $(git -C "$scratch/clone" rev-parse --short HEAD): $([ $rc = 0 ] && echo passed || echo FAILED)"
printf '    %s\n' "${results[@]}"
sed -n '/==> where the time went/,/==> bootstrap done/p' "$scratch/bootstrap.log" | sed '1d;$d'
[ -e "$scratch/cargo-home/bin/cargo-leptos" ] && echo "    installed: $(ls "$scratch/cargo-home/bin" | tr '\n' ' ')"
exit $rc
