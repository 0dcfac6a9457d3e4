#!/usr/bin/env bash
# The browser bundle's size budget. Builds the release front end (`cargo leptos build --release
# --frontend-only --precompress`), prints the sizes of the WASM, the JS glue and the CSS (raw,
# gzip -9, brotli -11, and the precompressed files the server sends), and fails when the WASM
# gzipped is over the budget, so it never creeps back silently.
#
#   scripts/wasm-size.sh             build, report, check
#   scripts/wasm-size.sh --no-build  report and check the last release build in target/site
#   WASM_GZIP_BUDGET=bytes           the budget (default 300000 bytes gzipped; see README)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TOPCLUCK_ROOT"
BUDGET=${WASM_GZIP_BUDGET:-300000}
pkg=target/site/pkg

if [ "${1:-}" != --no-build ]; then
  select_toolchain || die "no Rust toolchain with $WASM_TARGET" "run scripts/bootstrap.sh first"
  # Stale bundles (other hashes, debug builds) must not be measured.
  rm -rf "$pkg"
  cargo leptos build --release --frontend-only --precompress --cargo-locked >/tmp/topcluck-wasm-size.log 2>&1 ||
    die "release build of the front end failed" "see /tmp/topcluck-wasm-size.log"
fi

newest() { ls -t "$pkg"/topcluck*."$1" 2>/dev/null | head -n1; }
wasm=$(newest wasm)
[ -n "$wasm" ] || die "no release WASM in $pkg" "run scripts/wasm-size.sh without --no-build"

# size <file>: raw, gzip -9, brotli -11 (node's zlib), and the precompressed .gz/.br beside it.
size() {
  local file=$1 raw gz br pre_gz=- pre_br=-
  raw=$(stat -c %s "$file")
  gz=$(gzip -9c "$file" | wc -c)
  br=$(node -e 'const z=require("zlib");const d=require("fs").readFileSync(process.argv[1]);
    console.log(z.brotliCompressSync(d,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length)' "$file")
  [ -f "$file.gz" ] && pre_gz=$(stat -c %s "$file.gz")
  [ -f "$file.br" ] && pre_br=$(stat -c %s "$file.br")
  printf '  %-34s %9s %9s %9s %12s %12s\n' "$(basename "$file")" "$raw" "$gz" "$br" "$pre_gz" "$pre_br"
  [ "$file" != "$wasm" ] || wasm_gz=$gz
}

printf '\nrelease bundle (bytes)\n  %-34s %9s %9s %9s %12s %12s\n' file raw gzip-9 brotli-11 "served .gz" "served .br"
wasm_gz=0
for file in "$wasm" "$(newest js)" "$(newest css)"; do
  [ -n "$file" ] && size "$file"
done
if [ "$wasm_gz" -gt "$BUDGET" ]; then
  die "the WASM bundle is $wasm_gz bytes gzipped, over the budget of $BUDGET" \
    "find what grew (twiggy top -n 30 on the wasm-release build) and cut it"
fi
ok "WASM gzipped: $wasm_gz bytes, within the budget of $BUDGET"
