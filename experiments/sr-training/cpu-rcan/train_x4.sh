#!/bin/bash
# resumable: rerun this script (it passes --resume; a fresh start has no state to resume)
cd /work/wt-i30
export PYTHONPATH=/work/wt-i30:/work/wt-i30/plugins OMP_NUM_THREADS=1
exec /work/main/.venv/bin/python scripts/train_bundled.py train --data /tmp/i30/gpu --out /tmp/i30/run \
  --device cpu --threads 1 --jobs rcan:4 --init-all srpipe/weights/rcan_x4.safetensors \
  --teacher-share 0.75 --lr 2e-4 --batch 16 --patch 32 --warmup 50 --ema 0.995 \
  --minutes 26 --val-every 150 --save-every 120 --resume
