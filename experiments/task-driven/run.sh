#!/usr/bin/env bash
# Train the four recipes (in parallel, one torch thread each), then evaluate every variant
# on the detect test split with the same harness. Usage, from the repository root:
#   bash experiments/task-driven/run.sh            (SRPIPE="python -m srpipe" by default)
set -euo pipefail
SRPIPE=${SRPIPE:-"python -m srpipe"}
HERE=experiments/task-driven
RUNS=${RUNS:-$HERE/runs}
MINUTES=${MINUTES:-22}   # wall-clock budget per recipe (train.max_minutes)
mkdir -p "$RUNS"
for recipe in s2t t2s tdp sr4ir; do
  $SRPIPE train --config $HERE/config.yaml --recipe $recipe name=$recipe "out_dir=$RUNS/{name}" \
    train.max_minutes=$MINUTES \
    > "$RUNS/$recipe.log" 2>&1 &
done
wait
# the SR weights under names that say which recipe made them (a variant is named after its file)
for recipe in t2s tdp sr4ir; do cp "$RUNS/$recipe/best.safetensors" "$RUNS/${recipe}_sr.safetensors"; done
common="--scale 4 --compare bicubic --slice 0 --device cpu --seed 0"
# the bundled detector: bicubic->T, SR->T (bundled EDSR), T->S, TDP, HR->T
$SRPIPE eval detect $common --sr edsr,$RUNS/t2s_sr.safetensors,$RUNS/tdp_sr.safetensors \
  -o $HERE/eval_bundled_detector
# S->T: the bundled EDSR with the detector fine-tuned on its outputs
$SRPIPE eval detect $common --sr edsr --detector $RUNS/s2t/task_best.pt -o $HERE/eval_s2t
# SR4IR: the pair trained together
$SRPIPE eval detect $common --sr $RUNS/sr4ir_sr.safetensors --detector $RUNS/sr4ir/task_best.pt \
  -o $HERE/eval_sr4ir
for recipe in s2t t2s tdp sr4ir; do
  mkdir -p $HERE/logs/$recipe && cp $RUNS/$recipe/{train_log.csv,val_log.csv,config.yaml} $HERE/logs/$recipe/
done
${PYTHON:-python} $HERE/make_table.py
