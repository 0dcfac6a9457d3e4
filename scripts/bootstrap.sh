#!/usr/bin/env bash
# Installs everything TopCluck needs to build, run and test. Idempotent: each step says what it
# checks, skips what is already there, and stops with a message saying what to do when it fails.
# Nothing is downloaded except through the package registries (crates.io, npm, Debian) and rustup.
#
#   scripts/bootstrap.sh                      install what is missing (the two commands call this)
#   scripts/bootstrap.sh --fresh-check [rustup|debian] [--purge]
#                                             prove the first run of a brand-new machine: see
#                                             scripts/fresh-check.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TOPCLUCK_ROOT"

if [ "${1:-}" = --fresh-check ]; then
  shift
  exec "$TOPCLUCK_ROOT/scripts/fresh-check.sh" "$@"
fi

CARGO_LEPTOS_VERSION=0.3.11
RUSTUP_TARGET_TIMEOUT=${RUSTUP_TARGET_TIMEOUT:-25}
RUSTUP_INSTALL_TIMEOUT=${RUSTUP_INSTALL_TIMEOUT:-300}
TOOLS_CACHE=${TOPCLUCK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/topcluck}
LOGS=$TOOLS_CACHE/logs
mkdir -p "$LOGS"

# Minutes each long step took on 2-core machines of this project's kind (see README, "First
# run"): the low end on an idle machine, the high end on a busy one. Scaled to this machine's
# cores for the estimates printed along the way.
CORES=$(nproc 2>/dev/null || echo 2)
est() { echo "$(((${1} * 2 + CORES - 1) / CORES))-$(((${2} * 2 + CORES - 1) / CORES))"; }
MIN_CARGO_LEPTOS=$(est 26 55)
MIN_WASM_BINDGEN=$(est 4 7)
MIN_FIRST_BUILD=$(est 7 20)

# Wall time of each step, printed at the end so the first run shows where its time went.
declare -a TIMES=()
timed() { # timed NAME COMMAND...: runs COMMAND, records its wall time under NAME
  local name=$1 start=$SECONDS rc=0
  shift
  "$@" || rc=$?
  TIMES+=("$(printf '%-34s %4d s' "$name" $((SECONDS - start)))")
  return $rc
}

# ---------------------------------------------------------------------------------------------
# Preflight: everything that can stop the run is checked before the long steps start.

step "preflight"
command -v rustup >/dev/null ||
  die "rustup not found" "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh   (then open a new shell)"
command -v npm >/dev/null && command -v node >/dev/null ||
  die "Node.js with npm not found" "sudo apt-get install -y nodejs npm   (Node.js 20 or later)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  die "Node.js $(node --version) is too old" "install Node.js 20 or later"
command -v curl >/dev/null || die "curl not found" "sudo apt-get install -y curl"

# Packages that only apt can bring, gathered now so a machine without root fails here, at once.
APT_NEEDED=()
[ -x /usr/bin/chromium ] || APT_NEEDED+=(chromium)
# The vault's tests start a throwaway PostgreSQL cluster (initdb, pg_ctl as user postgres).
PG_BIN=/usr/lib/postgresql/15/bin
[ -x "$PG_BIN/initdb" ] || APT_NEEDED+=(postgresql-15)
DEBIAN_RUST_PKGS=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22)
want_debian_rust=no
if [ "${TOPCLUCK_RUST:-}" = debian ]; then want_debian_rust=yes; fi
if [ $want_debian_rust = yes ]; then
  for p in "${DEBIAN_RUST_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || APT_NEEDED+=("$p"); done
fi
can_root() { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }
if [ ${#APT_NEEDED[@]} -gt 0 ]; then
  command -v apt-get >/dev/null ||
    die "missing: ${APT_NEEDED[*]}" "install them with your system's package manager, then run this again"
  can_root ||
    die "installing ${APT_NEEDED[*]} needs root, and sudo asks for a password" "sudo apt-get install -y ${APT_NEEDED[*]}"
fi
ok "rustup, node $(node --version), npm $(npm --version)${APT_NEEDED[*]:+; will apt-get install ${APT_NEEDED[*]}}"

apt_updated=no
apt_install() {
  if [ $apt_updated = no ]; then
    as_root apt-get update -q || die "apt-get update failed" "check the network or your apt sources"
    apt_updated=yes
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$@" ||
    die "apt-get install $* failed" "sudo apt-get install -y $*   (run it by hand to see why)"
}

# ---------------------------------------------------------------------------------------------
# The project's toolchain: one that can build for wasm32-unknown-unknown.

# The Debian fallback of ../shared/TOOLCHAIN.md: Debian's Rust 1.96 plus a wasm32 std built from
# its own sources, linked into rustup as $DEBIAN_TOOLCHAIN.
install_debian_toolchain() {
  local pkgs=()
  for p in "${DEBIAN_RUST_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p"); done
  if [ ${#pkgs[@]} -gt 0 ]; then
    can_root || die "installing ${pkgs[*]} needs root" "sudo apt-get install -y ${pkgs[*]}"
    apt_install "${pkgs[@]}"
  else
    ok "Debian Rust packages present"
  fi
  if ! ls /usr/lib/rustlib/$WASM_TARGET/lib/libstd-*.rlib >/dev/null 2>&1; then
    step "building the wasm32 standard library from Debian's sources (about a minute)"
    local scratch
    scratch=$(mktemp -d)
    mkdir -p "$scratch/src"
    printf '[package]\nname = "wasm-std-scratch"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["rlib"]\n' >"$scratch/Cargo.toml"
    : >"$scratch/src/lib.rs"
    (cd "$scratch" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release -q \
      --target $WASM_TARGET -Zbuild-std=std,panic_abort,panic_unwind,proc_macro) ||
      die "building the wasm32 std failed" "see the cargo output above"
    as_root mkdir -p /usr/lib/rustlib/$WASM_TARGET/lib
    find "$scratch/target/$WASM_TARGET/release/deps" -name '*.rlib' ! -name 'libwasm_std_scratch-*' \
      -exec cp {} /usr/lib/rustlib/$WASM_TARGET/lib/ \;
    rm -rf "$scratch"
  fi
  ok "wasm32 std in /usr/lib/rustlib/$WASM_TARGET"
  rustup toolchain list | grep -q "^$DEBIAN_TOOLCHAIN" || rustup toolchain link "$DEBIAN_TOOLCHAIN" /usr
  export RUSTUP_TOOLCHAIN=$DEBIAN_TOOLCHAIN
}

project_toolchain() {
  step "Rust toolchain for the project, with the $WASM_TARGET target"
  if select_toolchain; then
    :
  elif [ $want_debian_rust = no ] && timeout "$RUSTUP_TARGET_TIMEOUT" rustup target add $WASM_TARGET && has_wasm_std ""; then
    ok "rustup target add $WASM_TARGET"
  else
    echo "    rustup could not add $WASM_TARGET within ${RUSTUP_TARGET_TIMEOUT}s (or TOPCLUCK_RUST=debian): using Debian's Rust"
    install_debian_toolchain
  fi
  PROJECT_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$(rustup show active-toolchain 2>/dev/null | awk '{print $1}')}
  ok "project builds with $PROJECT_TOOLCHAIN ($(rustc --version))"
  cargo clippy --version >/dev/null 2>&1 || echo "    note: clippy is missing for this toolchain; the test script needs it"
}
timed "project toolchain" project_toolchain

# ---------------------------------------------------------------------------------------------
# The toolchain that builds the tools. cargo-leptos is installed --locked, so its own lockfile
# decides the compiler it needs: read the highest rust-version in it rather than assume one.

cargo_leptos_needs() { # prints the rustc version cargo-leptos's lockfile needs
  local src=$TOOLS_CACHE/cargo-leptos-$CARGO_LEPTOS_VERSION stamp
  stamp=$src/.topcluck-rust-version
  if [ ! -s "$stamp" ]; then
    # The download address as cargo builds it from the index's config.json (a mirror may
    # answer for crates.io): "{dl}/{crate}/{version}/download" unless dl has markers.
    local dl url
    dl=$(curl -fsSL https://index.crates.io/config.json 2>/dev/null | sed -n 's/.*"dl" *: *"\([^"]*\)".*/\1/p')
    dl=${dl:-https://static.crates.io/crates}
    case $dl in
      *'{crate}'* | *'{version}'*)
        url=${dl//\{crate\}/cargo-leptos}
        url=${url//\{version\}/$CARGO_LEPTOS_VERSION} ;;
      *) url=$dl/cargo-leptos/$CARGO_LEPTOS_VERSION/download ;;
    esac
    rm -rf "$src"
    curl -fsSL "$url" | tar xz -C "$TOOLS_CACHE" ||
      die "could not download cargo-leptos $CARGO_LEPTOS_VERSION from crates.io" "check the network, then run this again"
    # Only what is built here counts: this platform, the features installed.
    cargo metadata --locked --format-version 1 --features no_downloads \
      --filter-platform "$(rustc -vV | sed -n 's/^host: //p')" \
      --manifest-path "$src/Cargo.toml" >"$src/.metadata.json" 2>"$LOGS/cargo-leptos-metadata.log" ||
      die "cargo metadata for cargo-leptos failed" "see $LOGS/cargo-leptos-metadata.log"
    grep -o '"rust_version":"[0-9.]*"' "$src/.metadata.json" | cut -d'"' -f4 | sort -V | tail -n1 >"$stamp"
  fi
  cat "$stamp"
}

# Sets TOOLS_TOOLCHAIN to a toolchain whose rustc is >= $1, and says which and why, in one line.
choose_tools_toolchain() {
  local need=$1 tc v
  v=$(toolchain_rustc_version "$PROJECT_TOOLCHAIN")
  if [ -n "$v" ] && version_at_least "$v" "$need"; then
    TOOLS_TOOLCHAIN=$PROJECT_TOOLCHAIN
    ok "tools build with the project's toolchain ($PROJECT_TOOLCHAIN, rustc $v >= $need)"
    return
  fi
  # Toolchains already on this machine: released ones first, then beta/nightly.
  local found=""
  for tc in $(rustup toolchain list 2>/dev/null | awk '{print $1}' | sort -t- -k1,1 | awk '/^(nightly|beta)/ {n=n" "$0; next} {print} END {print n}'); do
    v=$(toolchain_rustc_version "$tc")
    if [ -n "$v" ] && version_at_least "$v" "$need"; then found=$tc; break; fi
  done
  if [ -n "$found" ]; then
    TOOLS_TOOLCHAIN=$found
    ok "tools build with $found (rustc $v): cargo-leptos's lockfile needs rustc >= $need, the project's $PROJECT_TOOLCHAIN is $(toolchain_rustc_version "$PROJECT_TOOLCHAIN")"
    return
  fi
  echo "    no toolchain here has rustc >= $need (cargo-leptos's lockfile needs it): trying rustup toolchain install $need"
  if timeout "$RUSTUP_INSTALL_TIMEOUT" rustup toolchain install "$need" --profile minimal; then
    TOOLS_TOOLCHAIN=$need
    ok "tools build with rustup's $need (installed just now): the project's $PROJECT_TOOLCHAIN is older"
    return
  fi
  echo "    rustup could not install $need: using Debian's Rust (rustc-web) for the tools"
  command -v apt-get >/dev/null || die "no rustc >= $need available" "rustup toolchain install $need"
  local pkgs=()
  for p in rustc-web cargo-web; do dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p"); done
  if [ ${#pkgs[@]} -gt 0 ]; then
    can_root || die "installing ${pkgs[*]} needs root" "sudo apt-get install -y ${pkgs[*]}"
    apt_install "${pkgs[@]}"
  fi
  rustup toolchain list | grep -q "^$DEBIAN_TOOLCHAIN" || rustup toolchain link "$DEBIAN_TOOLCHAIN" /usr
  v=$(toolchain_rustc_version "$DEBIAN_TOOLCHAIN")
  version_at_least "$v" "$need" || die "Debian's rustc is $v, older than $need" "rustup toolchain install $need"
  TOOLS_TOOLCHAIN=$DEBIAN_TOOLCHAIN
  ok "tools build with Debian's rustc $v: the project's $PROJECT_TOOLCHAIN is older than $need"
}

# ---------------------------------------------------------------------------------------------
# Tools. apt (Chromium) and npm run in the background, overlapping the cargo installs, which
# share one target directory (common dependencies compile once) and skip the release profile's
# fat LTO with one codegen unit: a build tool gains nothing from it, and it was the single-
# threaded tail of the cold install.

bg_pids=()
bg_names=()
in_background() { # in_background NAME COMMAND...: output goes to $LOGS/NAME.log
  local name=$1
  shift
  ("$@") >"$LOGS/$name.log" 2>&1 &
  bg_pids+=($!)
  bg_names+=("$name")
  echo "    started in the background: $name (log: $LOGS/$name.log)"
}

# One apt run for what only apt brings (two at once would fight over dpkg's lock).
apt_step() {
  local want=() s=$SECONDS
  [ -x /usr/bin/chromium ] || want+=(chromium)
  [ -x "$PG_BIN/initdb" ] || want+=(postgresql-15)
  [ ${#want[@]} -gt 0 ] || return 0
  apt_install "${want[@]}" && echo "${want[*]} installed in $((SECONDS - s)) s"
}
npm_step() {
  local stamp=end2end/node_modules/.package-lock.sha sum s=$SECONDS
  sum=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    echo "end2end/node_modules matches package-lock.json"
    return 0
  fi
  (cd end2end && npm ci --no-audit --no-fund) && echo "$sum" >"$stamp" && echo "npm ci in $((SECONDS - s)) s"
}

step "in the background: Chromium and PostgreSQL 15 (apt), end2end/ npm packages (Playwright, wasm-opt)"
if [ -x /usr/bin/chromium ] && [ -x "$PG_BIN/initdb" ]; then
  ok "$(/usr/bin/chromium --version 2>/dev/null | head -n1); $("$PG_BIN/initdb" --version)"
else
  in_background apt apt_step
fi
in_background npm npm_step

want_bindgen=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$want_bindgen" ] || die "no wasm-bindgen in Cargo.lock" "run 'cargo generate-lockfile' in $TOPCLUCK_ROOT"
have_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
have_leptos=$(cargo leptos --version 2>/dev/null | awk '{print $2}' || true)

tools_install() { # tools_install ARGS...: cargo install with the tools' toolchain and settings
  RUSTC=$(rustup which --toolchain "$TOOLS_TOOLCHAIN" rustc) \
    CARGO_TARGET_DIR=$TOOLS_CACHE/tools-target \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    rustup run "$TOOLS_TOOLCHAIN" cargo install "$@"
}

if [ "$have_bindgen" != "$want_bindgen" ] || [ "$have_leptos" != "$CARGO_LEPTOS_VERSION" ]; then
  step "toolchain for the tools"
  need=$(cargo_leptos_needs)
  [ -n "$need" ] || die "could not read the rustc version cargo-leptos needs" "see $LOGS/cargo-leptos-metadata.log"
  timed "tools toolchain (needs rustc $need)" choose_tools_toolchain "$need"
fi

step "cargo-leptos $CARGO_LEPTOS_VERSION"
if [ "$have_leptos" = "$CARGO_LEPTOS_VERSION" ]; then
  ok "cargo-leptos $have_leptos"
else
  echo "    installing cargo-leptos (have: ${have_leptos:-none}) with $TOOLS_TOOLCHAIN, once"
  echo "    expected: about $MIN_CARGO_LEPTOS min; then wasm-bindgen-cli about $MIN_WASM_BINDGEN min; the first build about $MIN_FIRST_BUILD min"
  timed "cargo install cargo-leptos" tools_install cargo-leptos --version "=$CARGO_LEPTOS_VERSION" --locked --features no_downloads ||
    die "installing cargo-leptos failed" "see the cargo output above"
fi

step "wasm-bindgen-cli $want_bindgen (the version of wasm-bindgen in Cargo.lock)"
if [ "$have_bindgen" = "$want_bindgen" ]; then
  ok "wasm-bindgen $have_bindgen"
else
  echo "    installing wasm-bindgen-cli (have: ${have_bindgen:-none}) with $TOOLS_TOOLCHAIN; expected about $MIN_WASM_BINDGEN min, then the first build about $MIN_FIRST_BUILD min"
  # Not --locked: its lockfile names a webpki-roots version the registry lacks.
  timed "cargo install wasm-bindgen-cli" tools_install wasm-bindgen-cli --version "=$want_bindgen" ||
    die "installing wasm-bindgen-cli failed" "see the cargo output above"
fi
rm -rf "$TOOLS_CACHE/tools-target"

step "waiting for the background steps"
for i in "${!bg_pids[@]}"; do
  start=$SECONDS
  if wait "${bg_pids[$i]}"; then
    ok "${bg_names[$i]}: $(tail -n1 "$LOGS/${bg_names[$i]}.log")"
  else
    tail -n 20 "$LOGS/${bg_names[$i]}.log" >&2
    die "${bg_names[$i]} failed" "see $LOGS/${bg_names[$i]}.log"
  fi
  [ $((SECONDS - start)) -gt 1 ] && TIMES+=("$(printf '%-34s %4d s' "waited for ${bg_names[$i]}" $((SECONDS - start)))")
done
[ -x /usr/bin/chromium ] || die "Chromium is missing" "sudo apt-get install -y chromium"
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is missing (the vault's tests need it)" "sudo apt-get install -y postgresql-15"
wasm-opt --version >/dev/null 2>&1 && ok "$(wasm-opt --version)" || die "wasm-opt missing" "cd end2end && npm ci"

if [ ${#TIMES[@]} -gt 1 ]; then
  step "where the time went"
  printf '    %s\n' "${TIMES[@]}"
fi
step "bootstrap done (project toolchain: $PROJECT_TOOLCHAIN)"
