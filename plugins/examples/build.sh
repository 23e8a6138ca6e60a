#!/usr/bin/env bash
# Builds the example plugins and the plugin template (plugins/template) with
# an ordinary rustup toolchain (std, wasm32-wasip2), as plugin authors do,
# into this folder's *.wasm, which the HTTP tests load. rustup builds are not
# byte-reproducible across machines, so the built files are committed and CI
# checks that the source still builds (--no-copy) and that its native tests
# pass. The template builds into TEMPLATE_TARGET_DIR when set, beside its
# native tests' build.
#   rustup target add wasm32-wasip2 && plugins/examples/build.sh
set -euo pipefail
cd "$(dirname "$0")"
target_dir="${EXAMPLE_TARGET_DIR:-/tmp/everfit-example-build}"
# output name -> source folder, crate and target folder
declare -A sources=([rust-std]=rust-std [template]=../template)
declare -A crates=([rust-std]=everfit_rep_maxes [template]=everfit_insight_template)
declare -A targets=([rust-std]="$target_dir" [template]="${TEMPLATE_TARGET_DIR:-$target_dir}")
for name in rust-std template; do
  (cd "${sources[$name]}" && CARGO_TARGET_DIR="${targets[$name]}" cargo build --release --locked --target wasm32-wasip2)
  if [[ "${1:-}" != "--no-copy" ]]; then
    cp "${targets[$name]}/wasm32-wasip2/release/${crates[$name]}.wasm" "$name.wasm"
  fi
  echo "ok: $name"
done
