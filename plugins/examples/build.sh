#!/usr/bin/env bash
# Builds the example plugins with an ordinary rustup toolchain (std,
# wasm32-wasip2), as plugin authors do, into this folder's *.wasm, which the
# HTTP tests load. rustup builds are not byte-reproducible across machines,
# so the built files are committed and CI checks that the source still
# builds (--no-copy) and that its native tests pass.
#   rustup target add wasm32-wasip2 && plugins/examples/build.sh
set -euo pipefail
cd "$(dirname "$0")"
target_dir="${EXAMPLE_TARGET_DIR:-/tmp/everfit-example-build}"
declare -A crates=([rust-std]=everfit_rep_maxes)
for dir in "${!crates[@]}"; do
  (cd "$dir" && CARGO_TARGET_DIR="$target_dir" cargo build --release --locked --target wasm32-wasip2)
  if [[ "${1:-}" != "--no-copy" ]]; then
    cp "$target_dir/wasm32-wasip2/release/${crates[$dir]}.wasm" "$dir.wasm"
  fi
  echo "ok: $dir"
done
