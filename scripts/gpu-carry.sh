#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a GPU machine that has no network and no Node/Bun:
#   .gpu-carry/node_modules.tar.xz  the installed node_modules minus what no test, bench or training
#                                   step loads there (TypeScript, type declarations, source maps,
#                                   Playwright and the browser tests' needs, face-api's demo/sources
#                                   and unused models, TF.js's browser bundles, tests and CPU backend,
#                                   which the WebGPU bundle inlines); it holds Bun (node_modules/bun)
#                                   and bun-webgpu's libwebgpu_wrapper.so (its debug info stripped)
#   .gpu-carry/debs/libvulkan1_*.deb the Vulkan loader, which Dawn (bun-webgpu) needs on Linux
#   .gpu-carry/MANIFEST.txt          what is inside, sizes and SHA-256
# xz, not zstd: the GPU image is not known to have a zstd binary, while xz (and Python's lzma) are
# in every Ubuntu base; xz -9e also packs Bun 7 % smaller (38.0 MB against zstd -19's 41.0 MB), and
# its x86 branch filter 3 % more (36.8 MB).
# The whole working tree that travels to the device machine, .gpu-carry included, must stay under
# 64 MiB: this script fails when the carry alone passes CARRY_LIMIT_MIB (default 58).
#
#   scripts/gpu-carry.sh            (about 3 minutes of one core: xz -9e over ~190 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.gpu-carry
LIMIT_MIB=${CARRY_LIMIT_MIB:-58}
[ -x node_modules/bun/bin/bun.exe ] || { echo "gpu-carry: node_modules/bun/bin/bun.exe missing: run npm ci first" >&2; exit 1; }
[ -f node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so ] || { echo "gpu-carry: bun-webgpu's libwebgpu_wrapper.so missing (node_modules/bun-webgpu-linux-x64)" >&2; exit 1; }
grep -qx '.gpu-carry/' .gitignore || { echo "gpu-carry: .gpu-carry/ must be ignored (.gitignore)" >&2; exit 1; }

rm -rf "$CARRY"
mkdir -p "$CARRY/debs"

# The Vulkan loader: from the local apt cache when it is there, else one download by apt.
deb=$(ls /var/cache/apt/archives/libvulkan1_*_amd64.deb 2>/dev/null | head -1 || true)
if [ -n "$deb" ]; then cp "$deb" "$CARRY/debs/"; else (cd "$CARRY/debs" && apt-get download libvulkan1:amd64); fi

excludes=(
  # not loaded on the device: the compiler, type declarations, source maps, docs
  node_modules/typescript node_modules/bun-types node_modules/@types node_modules/@webgpu
  '*.map' '*.d.ts' '*.d.mts' '*.d.cts' '*.md'
  # a hard link of bun.exe
  node_modules/bun/bin/bunx.exe
  # the browser tests need Chromium, which the device image does not have
  node_modules/playwright-core
  # face-api: the ESM bundle (test/face-api-reference.ts) and the models src/ reads
  node_modules/@vladmandic/face-api/demo node_modules/@vladmandic/face-api/src node_modules/@vladmandic/face-api/types
  'node_modules/@vladmandic/face-api/dist/face-api.js' 'node_modules/@vladmandic/face-api/dist/face-api.node*.js'
  'node_modules/@vladmandic/face-api/dist/face-api.esm-nobundle.js' 'node_modules/@vladmandic/face-api/dist/tfjs.esm.js'
  'node_modules/@vladmandic/face-api/model/ssd_mobilenetv1*' 'node_modules/@vladmandic/face-api/model/age_gender*'
  'node_modules/@vladmandic/face-api/model/face_landmark_68_tiny*'
  # TF.js: Bun loads the *.node.js bundles and the ESM tree (register_all_gradients), never these
  'node_modules/@tensorflow/*/dist/*.min.js' 'node_modules/@tensorflow/*/dist/*.es2017.js' 'node_modules/@tensorflow/*/dist/*.fesm.js'
  'node_modules/@tensorflow/tfjs-core/dist/tf-core.js' 'node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.js'
  node_modules/@tensorflow/tfjs-backend-cpu 'node_modules/@tensorflow/*/dist/*_test.js'
)
args=()
for x in "${excludes[@]}"; do args+=("--exclude=$x"); done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tar -cf - "${args[@]}" node_modules | tar -xf - -C "$stage"
# Dawn's debug info is 3 MB of the 19.7 MB library; the code and its dynamic symbols stay.
if command -v strip >/dev/null; then strip --strip-debug "$stage/node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so"; fi
echo "packing node_modules (xz -9e, x86 filter) …" >&2
tar -C "$stage" -cf - node_modules | xz --x86 --lzma2=preset=9e -T1 > "$CARRY/node_modules.tar.xz"

{
  echo "# .gpu-carry for bench/gpu-check.sh, made $(date -u +%FT%TZ) by scripts/gpu-carry.sh from $(git rev-parse --short HEAD)"
  echo "# bun $(node_modules/bun/bin/bun.exe --version), bun-webgpu $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' node_modules/bun-webgpu/package.json | head -1)"
  (cd "$CARRY" && find . -type f ! -name MANIFEST.txt -printf '%P\n' | sort | while read -r f; do printf '%s  %10d  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$(stat -c %s "$f")" "$f"; done)
} > "$CARRY/MANIFEST.txt"
cat "$CARRY/MANIFEST.txt"
total=$(du -sb "$CARRY" | cut -f1)
# What else travels: tracked and untracked-not-ignored files (those that exist now).
tree=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
awk -v c="$total" -v t="$tree" 'BEGIN { printf "carry %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB that travel\n", c / 1048576, t / 1048576, (c + t) / 1048576 }'
if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then echo "gpu-carry: the carry is over ${LIMIT_MIB} MiB" >&2; exit 1; fi
