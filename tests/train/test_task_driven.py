"""Task-driven SR training through the optional DifferentiableView contract.

The task is the example third-party plugin ``examples/srpipe_edgenet`` (a two-layer edge
net), installed as an entry-point distribution like a pip-installed plugin; the SR net is
a 1-block EDSR x2. Everything is seeded and a few steps long.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.train.config import load_config
from srpipe.train.run_state import STATE_FILE
from tests.conftest import make_distribution

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "srpipe_edgenet" / "srpipe_edgenet.py"


@pytest.fixture
def edgenet_site(tmp_path: Path, monkeypatch) -> Path:
    """The example plugin installed (entry point) and visible to this process's plugin manager."""
    from srpipe.plugins import reset_plugin_manager

    site = make_distribution(
        tmp_path / "site",
        "srpipe-edgenet",
        {"srpipe_edgenet": EXAMPLE.read_text()},
        {"edgenet": "srpipe_edgenet"},
    )
    monkeypatch.syspath_prepend(str(site))
    reset_plugin_manager()
    yield site
    sys.modules.pop("srpipe_edgenet", None)
    reset_plugin_manager()


def config(tmp_path: Path, recipe: str, name: str = "run", *extra: str) -> dict:
    return load_config(
        None,
        (
            f"name={name}",
            f"out_dir={tmp_path}/{{name}}",
            "scale=2",
            "threads=1",
            "model.hyper.n_resblocks=1",
            "model.hyper.n_feats=8",
            "data.batch_size=2",
            "data.epoch_batches=4",
            "optim.lr=1e-3",
            "task.optim.lr=1e-2",
            "train.iterations=4",
            "train.val_every=2",
            "train.checkpoint_every=2",
            "train.tensorboard=false",
            "train.progress=false",
            *extra,
        ),
        task="edgenet",
        recipe=recipe,
    )


def _trainer(cfg: dict):
    from srpipe.train.task_driven import TaskTrainer

    trainer = TaskTrainer(cfg)
    trainer._setup()
    return trainer


def _copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


@pytest.mark.parametrize("recipe", ["t2s", "tdp"])
def test_task_driven_loss_reaches_sr_and_not_the_frozen_task(tmp_path, edgenet_site, recipe):
    trainer = _trainer(config(tmp_path, recipe))
    task_before = _copy(trainer.view_module)
    batch = next(iter(trainer._loader(0, 0)))
    # the task-driven term alone: without the pixel loss, every SR gradient comes through
    # the task net
    trainer.config["task"]["weights"]["pixel"] = 0.0
    trainer._train_step(batch, 1e-3)
    sr_grads = [p.grad for p in trainer.model.parameters() if p.requires_grad]
    assert all(g is not None for g in sr_grads)
    assert sum(float(g.abs().sum()) for g in sr_grads) > 0
    assert all(p.grad is None for p in trainer.view_module.parameters())
    assert not _changed(task_before, trainer.view_module)


def test_sr4ir_alternation_updates_both_and_writes_loadable_weights(tmp_path, edgenet_site):
    from srpipe.train.task_driven import TaskTrainer

    cfg = config(tmp_path, "sr4ir")
    probe = _trainer(config(tmp_path, "sr4ir", "probe"))
    sr_init, task_init = _copy(probe.model), _copy(probe.view_module)
    result = TaskTrainer(cfg).fit()
    assert result.status == "finished" and result.iteration == 4
    run = result.run_dir
    from srpipe.models.checkpoint import load_checkpoint

    sr, _ = load_checkpoint(run / "last.safetensors")
    assert _changed(sr_init, sr)
    assert result.task_weights is not None and result.task_weights_option == "--edgenet-weights"
    # the saved task weights load through the task's own option, and differ from the init
    from srpipe.plugins import get_plugin_manager
    from srpipe.task import TaskContext

    task = get_plugin_manager().task("edgenet")()
    task.setup(TaskContext("eval", options={"edgenet_weights": str(run / "task_last.pt")}))
    assert _changed(task_init, task.net)
    header = (run / "val_log.csv").read_text().splitlines()[0]
    assert header == "iteration,psnr,ssim,task_loss"


def test_s2t_keeps_sr_frozen(tmp_path, edgenet_site):
    trainer = _trainer(config(tmp_path, "s2t"))
    sr_before, task_before = _copy(trainer.model), _copy(trainer.view_module)
    trainer._train_step(next(iter(trainer._loader(0, 0))), 1e-3)
    assert not _changed(sr_before, trainer.model)
    assert _changed(task_before, trainer.view_module)


def test_recipe_the_task_cannot_run_is_one_line(tmp_path, edgenet_site, monkeypatch):
    import srpipe_edgenet

    from srpipe.task import DifferentiableView

    monkeypatch.setattr(srpipe_edgenet.EdgeNetView, "features", DifferentiableView.features)
    with pytest.raises(SrpipeError, match="recipe tdp needs the task's features"):
        _trainer(config(tmp_path, "tdp"))


def test_unknown_task_option_is_one_line(tmp_path, edgenet_site):
    with pytest.raises(SrpipeError, match=r"task\.options: edgenet has no option nope"):
        _trainer(config(tmp_path, "t2s", "run", "task.options.nope=1"))


def test_task_config_is_validated():
    with pytest.raises(SrpipeError, match=r"config task\.recipe='joint': expected one of s2t"):
        load_config(None, ("task.recipe=joint",), task="detect")
    with pytest.raises(SrpipeError, match="needs a task"):
        load_config(None, ("task.recipe=tdp",))
    plain = load_config(None, ())
    assert "task" not in plain  # plain SR runs keep their config as it was


def _cli(args, site: Path):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "srpipe", "train", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_kill9_then_resume_continues_the_same_run(tmp_path, edgenet_site):
    """The third-party plugin trains through the CLI; kill -9 and --resume give the weights
    an uninterrupted run gives (SR net and task net, sr4ir's alternation with CQMix)."""
    import time

    import yaml

    from srpipe.train.task_driven import TaskTrainer

    extra = ("data.epoch_batches=3", "train.iterations=40", "train.val_every=100")
    straight = TaskTrainer(config(tmp_path, "sr4ir", "straight", *extra)).fit()
    assert straight.iteration == 40

    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path, "sr4ir", "killed", *extra)))
    killed = _cli(["--config", str(path)], edgenet_site)
    state = tmp_path / "killed" / STATE_FILE
    deadline = time.monotonic() + 300
    while not state.exists():
        assert killed.poll() is None, killed.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    at_kill = torch.load(state, weights_only=True)["iteration"]
    assert at_kill < 40, "the run ended before the kill: nothing was resumed"
    resumed = _cli(["--config", str(path), "--resume"], edgenet_site)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert "resumed" in out
    assert "evaluate: srpipe eval edgenet --sr" in out and "--edgenet-weights" in out

    a = torch.load(tmp_path / "straight" / STATE_FILE, weights_only=True)
    b = torch.load(state, weights_only=True)
    assert a["iteration"] == b["iteration"] == 40
    for part in ("model", "task_module", "optimizer"):
        if part == "optimizer":
            a_t, b_t = a[part]["state"], b[part]["state"]
            pairs = [(a_t[k][n], b_t[k][n]) for k in a_t for n in ("exp_avg", "exp_avg_sq")]
        else:
            pairs = [(v, b[part][k]) for k, v in a[part].items()]
        for x, y in pairs:
            assert torch.equal(x, y), f"{part} differs after resume"


DDP_DRIVER = """
import os, sys, yaml, torch
import torch.distributed as dist
from srpipe.distributed import workers
from srpipe.train.data_parallel import average_gradients
from srpipe.train.task_driven import TaskTrainer

# both runs train in the one process group, which lives as long as the process (as under
# `torchrun -m srpipe train`)
rank = int(os.environ["RANK"])
for path in sys.argv[2:]:
    trainer = TaskTrainer(yaml.safe_load(open(path)))
    result = trainer.fit()
    torch.save(
        {"sr": trainer.model.state_dict(), "task": trainer.view_module.state_dict(),
         "world": trainer.ranks.world_size, "iteration": result.iteration},
        os.path.join(sys.argv[1], f"{trainer.config['name']}.rank{rank}.pt"),
    )
# average_gradients with a parameter only rank 0 has a gradient for, and one nobody has
params = [torch.nn.Parameter(torch.zeros(3)) for _ in range(3)]
params[0].grad = torch.full((3,), float(rank + 1))
if rank == 0:
    params[1].grad = torch.ones(3)
average_gradients(workers(), params, torch.device("cpu"))
torch.save([p.grad for p in params], os.path.join(sys.argv[1], f"grads.rank{rank}.pt"))
dist.barrier()
dist.destroy_process_group()
# end as the srpipe program does (srpipe.cli.entry): the interpreter's teardown of gloo's
# threads aborted a rank about one launch in six on a loaded machine ("terminate called
# without an active exception"), after every result was saved
sys.stdout.flush()
os._exit(0)
"""


def test_ddp_averages_sr_and_task_gradients_like_one_process(tmp_path, edgenet_site):
    """Two gloo ranks of batch 1 end with identical SR and task weights, equal (to float
    rounding) to one process with batch 2, the documented equivalent: the SR net's DDP
    averaging, the task net's hand-made averaging and sr4ir's per-sample CQMix masks. The
    same launch checks the averaging of a parameter only one rank has a gradient for."""
    import yaml

    from srpipe.train.task_driven import TaskTrainer

    steps = ("train.iterations=5", "train.val_every=100", "data.epoch_batches=3")
    recipes = ("t2s", "sr4ir")
    paths = []
    for recipe in recipes:
        cfg = config(tmp_path, recipe, f"ddp_{recipe}", "data.batch_size=1", "device=cpu", *steps)
        paths.append(tmp_path / f"ddp_{recipe}.yaml")
        paths[-1].write_text(yaml.safe_dump(cfg))
    driver = tmp_path / "driver.py"
    driver.write_text(DDP_DRIVER)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(edgenet_site), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    done = subprocess.run(
        [*cmd, str(driver), str(tmp_path), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        grads = torch.load(tmp_path / f"grads.rank{rank}.pt")
        assert torch.equal(grads[0], torch.full((3,), 1.5))
        assert torch.equal(grads[1], torch.full((3,), 0.5))  # rank 1 took part with zeros
        assert grads[2] is None

    for recipe in recipes:
        single = TaskTrainer(
            config(tmp_path, recipe, f"one_{recipe}", "data.batch_size=2", "device=cpu", *steps)
        )
        assert single.fit().iteration == 5
        ranks = [torch.load(tmp_path / f"ddp_{recipe}.rank{r}.pt") for r in (0, 1)]
        assert [r["world"] for r in ranks] == [2, 2]
        assert [r["iteration"] for r in ranks] == [5, 5]
        for part, module in (("sr", single.model), ("task", single.view_module)):
            for key, value in module.state_dict().items():
                assert torch.equal(ranks[0][part][key], ranks[1][part][key]), (recipe, key)
                torch.testing.assert_close(
                    ranks[0][part][key], value, rtol=1e-4, atol=1e-6, msg=f"{recipe} {key}"
                )
        # the comparison has teeth: training moved SR in both recipes, the task net in sr4ir
        init = _trainer(config(tmp_path, recipe, f"init_{recipe}"))
        assert _changed(_copy(init.model), single.model)
        assert _changed(_copy(init.view_module), single.view_module) is (recipe == "sr4ir")
