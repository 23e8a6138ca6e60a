#!/usr/bin/env bash
# Builds the Python and JavaScript example plugins from source, as their
# authors would: python/ with componentize-py (PyPI, pinned in
# requirements.txt, in its own virtualenv), js/ with componentize-js (npm,
# pinned in package-lock.json). Each one's logic is tested natively first.
# The builds embed a CPython or SpiderMonkey snapshot and are not
# byte-reproducible, so the built python.wasm and js.wasm are committed and CI
# checks that the source still builds (--no-copy).
#   plugins/examples/build-polyglot.sh [--no-copy]
set -euo pipefail
cd "$(dirname "$0")"
out="${EXAMPLE_TARGET_DIR:-/tmp/everfit-example-build}/polyglot"
mkdir -p "$out"
copy=1; [[ "${1:-}" == "--no-copy" ]] && copy=0

# The tools must not download anything while building: run the builds without
# a network where this user may (root, or unprivileged user namespaces).
offline=()
if unshare -n true 2>/dev/null; then offline=(unshare -n); fi

# Python: its own virtualenv (Debian's Python refuses system-wide installs).
venv="${COMPONENTIZE_PY_VENV:-$HOME/.cache/everfit-componentize-py}"
want="$(sed -n 's/^componentize-py==//p' python/requirements.txt)"
if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $want"; then
  echo "== installing componentize-py $want (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r python/requirements.txt
fi
(cd python && PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -q test_volume.py)
(cd python && PYTHONDONTWRITEBYTECODE=1 "${offline[@]}" "$venv/bin/componentize-py" -q \
  -d ../../../wit/v0.1.0 -w insight-plugin componentize app -o "$out/python.wasm")
[[ $copy == 1 ]] && cp "$out/python.wasm" python.wasm
echo "ok: python ($(stat -c %s "$out/python.wasm") bytes)"

# JavaScript: the locked tree, then the build script of package.json.
(cd js && npm ci --no-audit --no-fund --loglevel=error && npm test --silent)
(cd js && "${offline[@]}" npx --no-install componentize-js insight.js --wit ../../../wit/v0.1.0 \
  --world-name insight-plugin --disable http fetch-event -o "$out/js.wasm")
[[ $copy == 1 ]] && cp "$out/js.wasm" js.wasm
echo "ok: js ($(stat -c %s "$out/js.wasm") bytes)"
