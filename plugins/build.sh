#!/usr/bin/env bash
# Builds the guest components (plugins/guests) into plugins/dist/, or with
# --check rebuilds them and fails if they differ from the committed bytes.
#
# Uses Debian's Rust toolchain (rustc-web, cargo-web, rust-web-src,
# rust-web-llvm, lld-22), which rebuilds core/alloc from source for
# wasm32-wasip2 (-Zbuild-std). On a machine with rustup, plugin authors use
# `rustup target add wasm32-wasip2 && cargo build --release --target wasm32-wasip2`
# instead (see README, Plugins).
set -euo pipefail
cd "$(dirname "$0")"

check=false
if [[ "${1:-}" == "--check" ]]; then check=true; fi

if ! /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]\|^rustc 1\.[1-9][0-9][0-9]'; then
  echo "error: Debian's rustc (>= 1.96, package rustc-web) is not at /usr/bin/rustc;" >&2
  echo "       apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src rust-web-llvm lld-22" >&2
  exit 2
fi

# /usr/bin first: Debian's cargo must drive Debian's rustc (rustup's rustc
# cannot rebuild core for this target). Own target dir: never shared with
# the host build.
#
# The bytes depend on where the sources are: cargo hashes the absolute path
# of `plugins/pr` (outside the guests' workspace) into the crate metadata. So
# the sources are copied to one fixed folder and built there, and every
# checkout (CI's clone included) produces the committed bytes.
build_root=/tmp/everfit-guest-build
rm -rf "$build_root/src" && mkdir -p "$build_root/src"
# tar keeps the files' times, so cargo's fingerprints stay fresh between runs.
tar -C .. --exclude=./target --exclude=./.git --exclude=./data --exclude=./plugins/dist \
  --exclude='./plugins/*/target' -cf - . | tar -C "$build_root/src" -xf -
target_dir="${GUEST_TARGET_DIR:-$build_root/target}"
(
  cd "$build_root/src/plugins/guests"
  PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" \
    /usr/bin/cargo build --release --locked -Zbuild-std=core,alloc --target wasm32-wasip2
)

out="$target_dir/wasm32-wasip2/release"
# crate artifact -> committed name
declare -A dist=(
  [everfit_pr_component.wasm]=pr.wasm
  [everfit_progress.wasm]=progress.wasm
  [everfit_hostile.wasm]=hostile.wasm
  [everfit_rep_max.wasm]=rep-max.wasm
  [everfit_muscle_volume.wasm]=muscle-volume.wasm
  [everfit_consistency.wasm]=consistency.wasm
  [everfit_plateaus.wasm]=plateaus.wasm
)

status=0
for built in "${!dist[@]}"; do
  committed="dist/${dist[$built]}"
  if $check; then
    if ! cmp -s "$out/$built" "$committed"; then
      echo "error: $committed differs from a fresh build of plugins/guests ($built)." >&2
      echo "       Rebuild with plugins/build.sh and commit plugins/dist/ with the source change." >&2
      status=1
    else
      echo "ok: $committed matches a fresh build ($(wc -c <"$committed") bytes)"
    fi
  else
    mkdir -p dist
    cp "$out/$built" "$committed"
    echo "built $committed ($(wc -c <"$committed") bytes, sha256 $(sha256sum "$committed" | cut -c1-16))"
  fi
done
# The template is std Rust, built with rustup's toolchain the way authors
# build it (plugins/examples/build.sh); here it must carry the current WIT.
if ! cmp -s template/wit/insights.wit ../wit/v0.2.0/insights.wit; then
  echo "error: plugins/template/wit/insights.wit differs from wit/v0.2.0/insights.wit; copy it over." >&2
  status=1
else
  echo "ok: plugins/template carries wit/v0.2.0"
fi
exit $status
