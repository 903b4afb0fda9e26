#!/usr/bin/env bash
# scripts/replay-demo.sh — the main job on bundled real data: installs what it needs,
# builds cmasim, and replays a 6.1 arm64 kernel's trace of 200 random operations.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMASIM_BUILD_TESTS=OFF -DCMASIM_BUILD_BENCH=OFF >/dev/null
cmake --build build --target cmasim
./build/sim/cmasim replay tests/data/traces/frag_run1 "$@"
