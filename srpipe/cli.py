"""The `srpipe` command line: a click group whose verbs load on demand.

Every verb lives in its own module under ``srpipe.commands`` and is imported only when
it is invoked (or when ``--help`` lists it), so ``srpipe --help`` never imports torch.
Errors a user can fix (:class:`srpipe.errors.SrpipeError`) print as one line and exit
non-zero; anything else prints one line too, plus the traceback with ``--debug``.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import os
import sys
import threading

import click

from srpipe.errors import SrpipeError
from srpipe.plugins import add_plugins, block_plugins
from srpipe.version import __version__

#: verb -> "module:attribute"; the order is the order of `srpipe --help`.
COMMANDS: dict[str, str] = {
    "run": "srpipe.commands.run:run_group",
    "eval": "srpipe.commands.evaluate:eval_group",
    "upscale": "srpipe.commands.upscale:upscale",
    "train": "srpipe.commands.train:train",
    "data": "srpipe.commands.data:data",
    "export": "srpipe.commands.export:export",
    "models": "srpipe.commands.info:models",
    "tasks": "srpipe.commands.info:tasks",
    "plugins": "srpipe.commands.info:plugins",
    "info": "srpipe.commands.info:info",
    "plugin": "srpipe.commands.plugin:plugin",
}


class LazyGroup(click.Group):
    """A group that imports a verb's module only when the verb is needed."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        # Keep the command line as typed, for reports ("how was this made?").
        argv = list(args)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["srpipe.argv"] = argv
        return ctx

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="srpipe")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option(
    "-p",
    "plugin_flags",
    multiple=True,
    metavar="PLUGIN",
    help="Load a plugin that is not installed: a .py file or a module (`-p my_task.py`); "
    "or block one: `-p no:faces` (repeatable).",
)
@click.option(
    "--plugins-dir",
    "plugin_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Load every *.py in this folder as a plugin (repeatable; env SRPIPE_PLUGINS_DIR).",
)
@click.pass_context
def cli(
    ctx: click.Context, debug: bool, plugin_flags: tuple[str, ...], plugin_dirs: tuple[str, ...]
) -> None:
    """Does super-resolution help your downstream task, and by how much?

    srpipe upscales images and videos with classic or learned SR models, feeds them to a
    task (detection, faces, video, or your own plugin), and measures the task's accuracy
    on HR, bicubic and SR inputs with confidence intervals.

    \b
    Start here:
      srpipe eval sr --sr edsr --scale 4              PSNR/SSIM: bicubic vs EDSR
      srpipe eval detect --compare bicubic --sr edsr  does EDSR help YOLO on tiny objects?
      srpipe eval faces --compare bicubic             does SR help face verification?
      srpipe run detect --sr edsr --scale 4 clip.mp4  annotated video + detections
      srpipe upscale photo.jpg big.png --sr edsr      just upscale
    \b
      srpipe -p my_task.py eval my_task --data imgs/  a one-file task, not installed
    \b
    Environment: SRPIPE_PLUGINS=a,b (allowlist), SRPIPE_DISABLE_PLUGIN_AUTOLOAD=1,
    SRPIPE_PLUGINS_DIR (folders of plugin files), SRPIPE_CACHE (cache dir),
    SRPIPE_TRACE_HOOKS=1 (print every hook call), SRPIPE_MEMORY (SR memory budget,
    e.g. 4G), SRPIPE_MAX_PIXELS (decode limit).
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    blocked = [flag[3:] for flag in plugin_flags if flag.startswith("no:")]
    load = [flag for flag in plugin_flags if not flag.startswith("no:")]
    if blocked or load or plugin_dirs:
        block_plugins(blocked)
        add_plugins(load, plugin_dirs)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn exceptions into one-line errors."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("SRPIPE_DEBUG") == "1"
    if debug and os.environ.get("OPENCV_LOG_LEVEL") == "SILENT":
        os.environ["OPENCV_LOG_LEVEL"] = "WARNING"  # cv2 reads it on import, later than this
    try:
        code = cli.main(args=args, prog_name="srpipe", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SrpipeError as exc:
        if debug:
            raise
        # under torchrun every rank stops on a rank's failure; the failing rank says why
        if getattr(exc, "here", True):
            click.echo(f"Error: {_flat(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        click.echo(
            f"Error: {type(exc).__name__}: {_flat(exc)} (re-run with --debug for the traceback)",
            err=True,
        )
        sys.exit(1)
    else:
        # standalone_mode=False returns ctx.exit()'s code instead of exiting
        sys.exit(code if isinstance(code, int) else 0)


def _flat(exc: BaseException) -> str:
    """An error's text on one line: a message from a library (or a plugin) may hold newlines,
    and an error is one line whatever raised it."""
    return " ".join(str(exc).split())


def entry() -> None:
    """The ``srpipe`` program (console script, ``python -m srpipe``, torchrun's ``-m srpipe``).

    :func:`main`, then the process ends without the interpreter's teardown
    (:func:`_exit_process`). Python code that calls :func:`main` gets a plain ``SystemExit``.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            raise  # sys.exit("message") prints it; keep that behaviour
        _exit_process(code or 0)


def _exit_process(code: int) -> None:
    """End the process once its work is done, skipping the interpreter's teardown.

    Tearing down torch, ultralytics and matplotlib's modules takes about a second after
    every command (measured: 1.1 s after ``eval detect``), paid by every rank under
    torchrun. Every output is already closed and renamed into place at this point; atexit
    handlers (logging's flush, a plugin's own) still run. Under a profiler or a coverage
    tracer the normal exit is kept, as they write their results during teardown.
    """
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    # what the normal exit does first: threading's own exit callbacks (they stop idle
    # concurrent.futures workers, which a plain join would wait on forever), then the
    # non-daemon threads finish
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except Exception:  # stdout gone or full: the output is lost, say so (as Python does)
        code = code or 120
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)
