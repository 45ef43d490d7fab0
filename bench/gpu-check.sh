#!/usr/bin/env bash
# The GPU check (issue #16 item 6): on a machine with an NVIDIA GPU, no network and no Node/Bun,
# runs the test suite on the hardware adapter, the bench suites (--quick) and one `small` and one
# `paper` training step, and writes a JSON summary — in under 10 minutes, installing nothing from
# the network. It takes what it needs from .gpu-carry/ (made here by scripts/gpu-carry.sh): Bun,
# bun-webgpu's Dawn library and the other node_modules (xz), and the Vulkan loader (a .deb).
#
#   device machine (the tool `run`, carry [".gpu-carry"], timeout_s 600):  bench/gpu-check.sh
#   here, the same steps on llvmpipe with small settings:                  bench/gpu-check.sh --dry
#
# Results: bench/results/gpu-check/ (per test file JSON and logs) and, where $OUT is set (the device
# tool's return folder, 8 files at most), summary.json, the logs and the bench JSON there. Phase time
# limits (seconds): GPU_CHECK_TEST_S (270), GPU_CHECK_BENCH_S (150), GPU_CHECK_TRAIN_S (90); test
# files run GPU_CHECK_WORKERS at a time (4; 1 with --dry). The browser tests (test/browser.test.ts,
# test/demo.test.ts) are not run: they need Chromium, which the GPU image does not have.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
[ "${1:-}" = "--dry" ] && DRY=1
WORK=bench/results/gpu-check
rm -rf "$WORK"
mkdir -p "$WORK/tests"
START=$(date +%s)
note() { echo "[gpu-check +$(( $(date +%s) - START ))s] $*" | tee -a "$WORK/check.log" >&2; }
# phase NAME LIMIT_S CMD…: runs under a time limit, logs to $WORK/NAME.log, records rc and seconds.
phase() {
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  note "$name: $* (limit ${limit}s)"
  timeout -k 10 "$limit" "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  printf '{"name":"%s","rc":%d,"seconds":%d,"limitSeconds":%d,"timedOut":%s}\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" "$limit" "$([ $rc -eq 124 ] || [ $rc -eq 137 ] && echo true || echo false)" >>"$WORK/phases.jsonl"
  note "$name: rc $rc"
  return $rc
}

# ---------------------------------------------------------------- what the machine lacks
if [ ! -x node_modules/bun/bin/bun.exe ]; then
  [ -f .gpu-carry/node_modules.tar.xz ] || { note "no node_modules and no .gpu-carry/node_modules.tar.xz (run scripts/gpu-carry.sh here and carry .gpu-carry)"; exit 2; }
  if command -v xz >/dev/null; then decompress='xz -dc .gpu-carry/node_modules.tar.xz'
  else decompress="python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(\".gpu-carry/node_modules.tar.xz\"), sys.stdout.buffer)'"; fi
  phase unpack 120 bash -o pipefail -c "$decompress | tar -xf -" || exit 2
fi
if [ $DRY -eq 0 ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    note "no Vulkan loader: unpacking .gpu-carry/debs into /"
    for f in .gpu-carry/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The driver's Vulkan ICD where the loader does not look by itself (the device machines' layout).
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 && [ -f $icd ]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  fi
  export LRDIF_ADAPTER=hardware
  WORKERS=${GPU_CHECK_WORKERS:-4}
else
  export LRDIF_ADAPTER=${LRDIF_ADAPTER:-llvmpipe}
  WORKERS=${GPU_CHECK_WORKERS:-1}
fi
export PATH="$PWD/node_modules/.bin:$PATH"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$WORK/gpu.txt" 2>&1
bun --version >"$WORK/bun.txt" 2>&1

# ---------------------------------------------------------------- the adapter
# Without the hardware adapter nothing below would test the GPU: stop with the reason.
if ! phase adapter 60 bun -e "import { Engine } from './src/engine/engine.ts'; const e = await Engine.create({ log: false }); console.log(JSON.stringify({ description: e.info.description, kind: e.info.kind, software: e.info.software, timestampQuery: e.info.timestampQuery })); process.exit(0);"; then
  note "no WebGPU adapter (LRDIF_ADAPTER=$LRDIF_ADAPTER): see $WORK/adapter.log"
else
  # ---------------------------------------------------------------- the test suite
  # Long files first, so that they overlap the short ones.
  first="kill-resume train ablate cli demo-session"
  files=()
  for f in $first; do [ -f "test/$f.test.ts" ] && files+=("test/$f.test.ts"); done
  for f in test/*.test.ts; do
    case " ${files[*]} " in *" $f "*) continue ;; esac
    case "$f" in test/browser.test.ts | test/demo.test.ts) continue ;; esac # need Chromium
    files+=("$f")
  done
  if [ $DRY -eq 1 ]; then files=(test/elementwise.test.ts test/softmax.test.ts test/matmul.test.ts); fi
  printf '%s\n' "${files[@]}" >"$WORK/tests/planned.txt"
  test_limit=${GPU_CHECK_TEST_S:-270}
  run_file() { # one test file: its JSON result and log under $WORK/tests
    local n; n=$(basename "$1" .test.ts)
    bun --bun vitest run "$1" --reporter=default --reporter=json --outputFile.json="$WORK/tests/$n.json" >"$WORK/tests/$n.log" 2>&1
    echo "$1 rc $?"
  }
  export -f run_file
  export WORK
  phase tests "$test_limit" bash -c 'printf "%s\n" "$@" | xargs -P '"$WORKERS"' -I{} bash -c "run_file {}"' _ "${files[@]}"

  # ---------------------------------------------------------------- bench suites and training steps
  if [ $DRY -eq 1 ]; then size=--smoke; configs=tiny/1/2,tiny/2/2/frozen; else size=--quick; configs=small/1/8,paper/2/8/frozen; fi
  phase bench "${GPU_CHECK_BENCH_S:-150}" bun bench/run.ts --suite all $size --out "$WORK/bench.json"
  cp bench/results/report.html "$WORK/report.html" 2>/dev/null
  phase train "${GPU_CHECK_TRAIN_S:-90}" bun bench/run.ts --suite train --train "$configs" --out "$WORK/train.json"
fi

# ---------------------------------------------------------------- summary
bun bench/gpu-check-summary.ts "$WORK" $([ $DRY -eq 1 ] && echo --dry) >"$WORK/summary.txt" 2>&1 || note "summary failed: $(tail -3 "$WORK/summary.txt")"
cat "$WORK/summary.txt"
if [ -n "${OUT:-}" ]; then
  for f in tests.log summary.json summary.txt bench.json train.json report.html check.log; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$OUT/"
  done
  # The per-file logs, one file (the tool returns 8 files at most).
  tail -n 40 "$WORK"/tests/*.log >"$OUT/test-files.log" 2>/dev/null
fi
note "done in $(( $(date +%s) - START ))s"
