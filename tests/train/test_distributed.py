"""DDP with two gloo CPU processes under torchrun: both ranks end with identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import torch
import yaml

from .conftest import tiny_config

DRIVER = textwrap.dedent(
    """
    import os, sys, yaml, torch
    from srpipe.train.trainer import Trainer

    config = yaml.safe_load(open(sys.argv[1]))
    trainer = Trainer(config)
    result = trainer.fit()
    rank = int(os.environ["RANK"])
    torch.save(
        {"weights": trainer.model.state_dict(), "world": trainer.ranks.world_size,
         "iteration": result.iteration},
        os.path.join(sys.argv[2], f"rank{rank}.pt"),
    )
    # the process group lives as long as the process; end it as the srpipe program does
    # (srpipe.cli.entry), without the interpreter's teardown of gloo's threads
    trainer.ranks.barrier()
    sys.stdout.flush()
    os._exit(0)
    """
)


def test_two_gloo_ranks_end_identical(tmp_path, tiny_data):
    config = tiny_config(tmp_path, tiny_data, "ddp", ("train.iterations=6", "device=cpu"))
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(yaml.safe_dump(config))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(driver),
        str(config_path),
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert r0["world"] == r1["world"] == 2
    assert r0["iteration"] == r1["iteration"] == 6
    for key in r0["weights"]:
        assert torch.equal(r0["weights"][key], r1["weights"][key]), key
    # rank 0 alone wrote the run's files, and training moved the weights
    assert (tmp_path / "ddp" / "state.pt").is_file()
    from srpipe.train.network import build_model, seed_everything

    seed_everything(config["seed"])
    init, _ = build_model(config)
    assert any(not torch.equal(init.state_dict()[k], r0["weights"][k]) for k in r0["weights"])
