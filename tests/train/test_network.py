"""The network a run trains: built from the config, started from another checkpoint."""

from __future__ import annotations

import torch

from srpipe.train.trainer import Trainer

from .conftest import tiny_config


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_init_from_x2_copies_all_but_the_upsampler(tmp_path, tiny_data):
    from srpipe.train.network import build_model, init_weights_from

    x2 = Trainer(tiny_config(tmp_path, tiny_data, "x2", ("train.iterations=2",))).fit()
    config = tiny_config(tmp_path, tiny_data, "x4", ("scale=4",))
    model, _ = build_model(config)
    copied, total = init_weights_from(model, x2.run_dir / "last.safetensors")
    assert 0 < copied < total
    source = _weights(x2.run_dir / "last.safetensors")
    torch.testing.assert_close(model.state_dict()["head.0.weight"], source["head.0.weight"])


def test_init_from_keeps_the_checkpoint_input_normalisation(tmp_path):
    """The bundled edsr feeds its LIIF encoder (x - 0.5) / 0.5 (rgb_range 2, mean 0.5): a run
    that starts from it must build the same normalisation, or its first output is garbage."""
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.edsr import EDSR
    from srpipe.train.network import build_model, init_weights_from

    hyper = {"n_resblocks": 1, "n_feats": 8, "rgb_range": 2.0, "rgb_mean": [0.5, 0.5, 0.5]}
    source = EDSR(scale=2, **hyper).eval()
    path = save_checkpoint(source, tmp_path / "src.safetensors", arch="edsr", scale=2, hyper=hyper)
    config = {
        "scale": 2,
        "model": {"arch": "edsr", "hyper": {"n_resblocks": 1, "n_feats": 8}, "init_from": path},
    }
    model, built = build_model(config)
    assert built["rgb_range"] == 2.0 and list(built["rgb_mean"]) == [0.5, 0.5, 0.5]
    init_weights_from(model, path)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), source(x))
    # an explicit value in the config still wins
    config["model"]["hyper"]["rgb_range"] = 255.0
    assert build_model(config)[1]["rgb_range"] == 255.0


def test_same_seed_builds_the_same_initial_weights(tmp_path, tiny_data):
    from srpipe.train.network import build_model, seed_everything

    config = tiny_config(tmp_path, tiny_data, "seeded")
    seed_everything(5)
    a, _ = build_model(config)
    seed_everything(5)
    b, _ = build_model(config)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
