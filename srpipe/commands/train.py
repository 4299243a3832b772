"""`srpipe train`: train an SR model from a YAML config (also under torchrun for DDP)."""

from __future__ import annotations

import sys

import click

from srpipe.train.config import dump_config, load_config


@click.command(context_settings={"ignore_unknown_options": False})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML config (see configs/); keys not given take the paper-recipe defaults.",
)
@click.option("--resume", is_flag=True, help="Continue the run in the config's out_dir.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.argument("overrides", nargs=-1)
def train(config_path: str | None, resume: bool, print_config: bool, overrides: tuple[str, ...]):
    """Train EDSR/RCAN/... with the paper recipe; override any key as key=value.

    \b
    Examples:
      srpipe train --config configs/edsr_baseline_x4.yaml
      srpipe train --config configs/edsr_baseline_x4.yaml optim.lr=2e-4 data.batch_size=8
      srpipe train --config configs/edsr_baseline_x4.yaml --resume
      torchrun --nproc_per_node 4 -m srpipe train --config configs/rcan_x4.yaml
    \b
    Outputs go to runs/<name>/: state.pt (resume), best/last.safetensors (use with
    --sr PATH), train_log.csv, val_log.csv, tb/ (TensorBoard), curves.png.
    Ctrl-C or SIGTERM writes a checkpoint before exiting; --resume continues it.
    """

    config = load_config(config_path, overrides)
    if print_config:
        click.echo(dump_config(config), nl=False)
        return
    from srpipe.train.trainer import train as run_training

    result = run_training(config, resume=resume)
    if result.status == "interrupted":
        sys.exit(128 + (result.stop_signal or 2))  # shell convention: 130 SIGINT, 143 SIGTERM
    if not result.is_main:
        return
    weights = "best.safetensors" if result.best_psnr is not None else "last.safetensors"
    best = (
        f"best val Y-PSNR {result.best_psnr:.3f} dB @ {result.best_iteration}; "
        if result.best_psnr is not None
        else ""
    )
    click.echo(
        f"{result.status}: {result.iteration} iterations in {result.elapsed_s / 60:.1f} min; "
        f"{best}weights: {result.run_dir / weights}"
    )
