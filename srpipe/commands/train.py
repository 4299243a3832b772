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
@click.option(
    "--task",
    "task_name",
    default=None,
    help="Task-driven SR: train through this task's differentiable view (detect, faces, "
    "or a plugin's task); sets task.name.",
)
@click.option(
    "--recipe",
    type=click.Choice(["s2t", "t2s", "tdp", "sr4ir"]),
    default=None,
    help="With --task: s2t (SR frozen, task net fine-tuned on SR), t2s (task frozen, SR on "
    "L1 + task loss), tdp (task frozen, SR on L1 + task-driven perceptual loss), sr4ir "
    "(alternating TDP and task net on SR/HR/CQMix). Default: task.recipe (sr4ir).",
)
@click.option("--resume", is_flag=True, help="Continue the run in the config's out_dir.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.argument("overrides", nargs=-1)
def train(
    config_path: str | None,
    task_name: str | None,
    recipe: str | None,
    resume: bool,
    print_config: bool,
    overrides: tuple[str, ...],
):
    """Train EDSR/RCAN/... with the paper recipe; override any key as key=value.

    With --task NAME the SR net trains *for* a task (task-driven SR, SR4IR's recipes); the
    task's training split fits, its val split selects (lowest task loss of SR images), and
    its test split stays for `srpipe eval`. Keys: task.recipe, task.weights.*, task.warmup,
    task.optim.*, task.options.* (the task's own options, e.g. task.options.detector=PATH).

    \b
    Examples:
      srpipe train --config configs/edsr_baseline_x4.yaml
      srpipe train --config configs/edsr_baseline_x4.yaml optim.lr=2e-4 data.batch_size=8
      srpipe train --config configs/edsr_baseline_x4.yaml --resume
      torchrun --nproc_per_node 4 -m srpipe train --config configs/rcan_x4.yaml
      srpipe train --task detect --recipe sr4ir model.init_from=edsr_x4 name=det_sr4ir
    \b
    Outputs go to runs/<name>/: state.pt (resume), best/last.safetensors (use with
    --sr PATH), train_log.csv, val_log.csv, tb/ (TensorBoard), curves.png.
    Ctrl-C or SIGTERM writes a checkpoint before exiting; --resume continues it.
    Task-driven runs also write task_best.pt / task_last.pt when the recipe trains the task
    net (s2t, sr4ir): pass it to the task's weights option (detect: --detector).
    """

    config = load_config(config_path, overrides, task=task_name, recipe=recipe)
    if print_config:
        click.echo(dump_config(config), nl=False)
        return
    if "task" in config:
        from srpipe.train.task_driven import train_task as run_training
    else:
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
    if result.task_weights is not None:
        click.echo(f"task weights: {result.task_weights}")
    if "task" in config:
        option = result.task_weights_option
        command = f"srpipe eval {config['task']['name']} --sr {result.run_dir / weights}"
        if result.task_weights is not None and option:
            command += f" {option} {result.task_weights}"
        click.echo(f"evaluate: {command}")
