"""The run loop as a Python API: `srpipe.run` and its records."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from srpipe.errors import SrpipeError

COUNTER = """
from srpipe import hookimpl
from srpipe.task import Task

class Brightest(Task):
    name = "brightest"
    summary = "position of the brightest pixel"

    def predict(self, images):
        out = []
        for image in images:
            y, x = divmod(int(image.sum(axis=2).argmax()), image.shape[1])
            out.append((x, y))
        return out

    def rescale(self, prediction, factor):
        return (prediction[0] * factor, prediction[1] * factor)

    def records(self, prediction):
        return [{"x": prediction[0], "y": prediction[1], "kind": "peak"}]

@hookimpl
def srpipe_register_tasks():
    return [Brightest]
"""


def _pictures(folder: Path) -> Path:
    from srpipe.image.io import write_image

    folder.mkdir()
    for i in range(2):
        image = np.zeros((12, 16, 3), np.uint8)
        image[3 + i, 5 + i] = 255
        write_image(folder / f"img{i}.png", image)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_run_api_writes_records_and_lists_bad_files(third_party, tmp_path: Path) -> None:
    import srpipe

    third_party("tp-bright", {"tp_bright": COUNTER}, {"brightest": "tp_bright"})
    folder = _pictures(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(SrpipeError, match=r"1 input\(s\) failed.*broken\.png"):
        srpipe.run("brightest", folder, sr="nearest", scale=2, out=out)
    records = json.loads((out / "records.json").read_text())
    assert [r["input"] for r in records] == ["img0.png", "img1.png"]
    # nearest x2 puts the peak at 2*x (top-left of the 2x2 block); input coords are halved back
    assert records[0]["x"] == 5 and records[0]["x_sr"] == 10
    assert "kind_sr" not in records[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 2 and summary["failed"][0]["input"] == "broken.png"


def test_setup_gets_the_context_even_when_it_has_a_default(tmp_path: Path) -> None:
    """``setup(self, ctx=None)`` is a valid contract method: it is called with the context."""
    from srpipe.image.io import write_image
    from srpipe.running.runner import run_task
    from srpipe.task import Task, TaskContext

    seen: list[TaskContext | None] = []

    class Remembers(Task):
        name = "remembers"

        def setup(self, ctx: TaskContext | None = None) -> None:
            seen.append(ctx)

        def predict(self, images):
            return [None for _ in images]

        def records(self, prediction):
            return []

    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    run_task(
        task_cls=Remembers,
        task_options={"level": 3},
        input=tmp_path / "a.png",
        out=tmp_path / "out",
        quiet=True,
        sr="nearest",
        scale=2,
    )
    (ctx,) = seen
    assert ctx is not None and ctx.command == "run" and ctx.scales == (2,)
    assert dict(ctx.options) == {"level": 3}


def test_run_api_sends_setting_keywords_to_settings_and_the_rest_to_the_task(
    tmp_path: Path,
) -> None:
    import srpipe
    from srpipe.image.io import write_image
    from srpipe.task import Task, TaskContext

    contexts: list[TaskContext] = []

    class Options(Task):
        name = "options"

        def setup(self, ctx: TaskContext) -> None:
            contexts.append(ctx)

        def predict(self, images):
            return [image.shape for image in images]

        def records(self, prediction):
            return [{"height": prediction[0]}]

    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    result = srpipe.run(Options, tmp_path / "a.png", out=tmp_path / "out", sr="nearest", scale=3,
                        batch_size=1, conf=0.3)  # fmt: skip
    assert result.scale == 3 and result.frames == 1
    assert dict(contexts[0].options) == {"conf": 0.3}
    # the task saw the frame upscaled x3
    assert json.loads((tmp_path / "out" / "records.json").read_text())[0]["height"] == 24


def test_bad_settings_are_refused_before_the_input_is_opened(tmp_path: Path) -> None:
    from srpipe.running.runner import run_task
    from srpipe.task import Task

    with pytest.raises(SrpipeError, match="--batch-size must be at least 1, got 0"):
        run_task(task_cls=Task, task_options={}, input=tmp_path / "missing", batch_size=0)
    with pytest.raises(TypeError, match="unknown run setting"):
        run_task(task_cls=Task, task_options={}, input=tmp_path / "missing", scales=[2])


def test_an_output_over_the_pixel_limit_is_one_line_before_the_model_loads(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from srpipe.cli import main
    from srpipe.image.io import write_image

    write_image(tmp_path / "small.png", np.zeros((24, 32, 3), np.uint8))
    loaded: list[str] = []
    monkeypatch.setattr(
        "srpipe.upscaling.upscaler.load_model", lambda *a, **k: loaded.append("model")
    )
    small, out = str(tmp_path / "small.png"), str(tmp_path / "out")
    with pytest.raises(SystemExit) as exited:
        main(["run", "sr", "--sr", "liif", "--scale", "1000", small, "-o", out])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and not loaded
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "32000x24000 pixels (768 MP)" in lines[0], err


def test_busy_cores_are_sampled_now_not_averaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srpipe.running import runner

    stat = tmp_path / "stat"
    header = "cpu0 0 0 0 0\ncpu1 0 0 0 0\n"
    # user nice system idle iowait irq softirq steal
    stat.write_text("cpu  100 0 100 800 0 0 0 0\n" + header)

    def later(_: float) -> None:  # 1,000 ticks pass: 1,500 busy of 2 cores' 2,000
        stat.write_text("cpu  1600 0 100 1300 0 0 0 0\n" + header)

    monkeypatch.setattr(runner.time, "sleep", later)
    assert runner.busy_cores_now(stat=str(stat)) == pytest.approx(2 * 1500 / 2000)
    assert runner.busy_cores_now(stat=str(tmp_path / "missing")) is None


def test_stages_run_side_by_side_only_while_other_work_holds_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from srpipe.running import runner

    model = SimpleNamespace(kind="model")
    threads = torch.get_num_threads()
    monkeypatch.setattr(runner, "busy_cores_now", lambda: float(threads))
    assert runner._stage_cores(model) == threads
    monkeypatch.setattr(runner, "busy_cores_now", lambda: 0.1)
    assert runner._stage_cores(model) is None
    # where no sample can be taken, the 1-minute load average decides
    monkeypatch.setattr(runner, "busy_cores_now", lambda: None)
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (threads + 1.0, 0.0, 0.0))
    assert runner._stage_cores(model) == threads
    assert runner._stage_cores(SimpleNamespace(kind="classic")) is None
