#!/usr/bin/env bash
# Faces experiment: verification/identification on the offline synth set (see README.md here).
# Usage: bash experiments/faces/run.sh   (from the repository root; about 20 min on 2 CPU cores)
set -euo pipefail
SRPIPE=${SRPIPE:-.venv/bin/srpipe}
OUT=${OUT:-runs/faces-experiments}
KEEP=experiments/faces/results
SR=${SR:-srmd}
mkdir -p "$KEEP" "$OUT"
$SRPIPE data synth faces
run() {  # name, then eval arguments
  local name=$1; shift
  $SRPIPE eval faces --compare nearest,bilinear,bicubic --sr "$SR" --bootstrap 1000 --seed 0 \
    -o "$OUT/$name" "$@" | tee "$OUT/$name.txt"
  mkdir -p "$KEEP/$name"
  cp "$OUT/$name/report.md" "$OUT/$name/report.json" "$OUT/$name.txt" "$KEEP/$name/"
  cp "$OUT/$name"/faces_roc_*.png "$KEEP/$name/" 2>/dev/null || true
}
run native-x2-x4 --scale 2,4
for width in 16 24 32; do
  run "facewidth-${width}-x4" --scale 4 --face-width "$width"
done
