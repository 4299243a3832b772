"""Build `srpipe run TASK` and `srpipe eval TASK` from the registered tasks.

A task contributes its own options (``Task.options``) and any plugin may add more
(``srpipe_add_options``); the verb supplies the options every task shares. The values
of task and plugin options, by parameter name, become ``TaskContext.options``: the task
reads them from the ``ctx`` its ``Task.setup(ctx)`` is given.
"""

from __future__ import annotations

import inspect
import shlex
import sys
from collections.abc import Callable
from typing import Any

import click

from srpipe.plugins import get_plugin_manager
from srpipe.task import Task


class TaskGroup(click.Group):
    """A click group with one subcommand per registered task, built on demand."""

    def __init__(
        self,
        *args: Any,
        verb: str,
        common_params: Callable[[], list[click.Parameter]],
        invoke: Callable[..., Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.verb = verb
        self.common_params = common_params
        self.invoke_task = invoke

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(get_plugin_manager().tasks())

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            known = ", ".join(sorted(get_plugin_manager().tasks())) or "none"
            raise click.UsageError(
                f"unknown task {args[0]!r}; registered tasks: {known} (see `srpipe tasks`)", ctx
            )
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        task_cls = get_plugin_manager().tasks().get(cmd_name)
        if task_cls is None:
            return None
        common = self.common_params()
        common_names = {p.name for p in common}
        extra = list(task_cls.options(self.verb))
        for batch in get_plugin_manager().hook.srpipe_add_options(
            task_name=task_cls.name, command=self.verb
        ):
            extra.extend(batch or [])
        extra_names = [p.name for p in extra if p.name not in common_names]
        verb, invoke = self.verb, self.invoke_task

        def callback(**values: Any) -> None:
            task_options = {name: values.pop(name) for name in extra_names if name in values}
            invoke(task_cls=task_cls, task_options=task_options, **values)

        # the task's own docstring only: a task without one must not show Task's
        own_doc = task_cls.__dict__.get("__doc__") if task_cls is not Task else None
        doc = (inspect.cleandoc(own_doc) if own_doc else task_cls.summary or "").strip()
        if verb == "eval" and task_cls.default_data:
            doc += f"\n\nWithout --data: {task_cls.default_data}."
        return click.Command(
            cmd_name,
            params=[*common, *[p for p in extra if p.name not in common_names]],
            callback=callback,
            help=f"{task_cls.summary}\n\n{doc}" if doc != task_cls.summary else doc,
            short_help=task_cls.summary,
            context_settings={"max_content_width": 100},
            epilog=f"Options from the first one to --json are shared by every task's {verb}; "
            "the ones after them are this task's own.",
        )


def split_csv(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_scales(value: str) -> list[int]:
    """``"2,3,4"`` -> ``[2, 3, 4]`` with a one-line error on nonsense."""
    try:
        scales = [int(part) for part in split_csv(value)]
    except ValueError:
        raise click.BadParameter(f"expected integers like 4 or 2,3,4, got {value!r}") from None
    if not scales or any(s < 1 or s > 16 for s in scales):
        raise click.BadParameter(f"scales must be between 1 and 16, got {value!r}")
    return scales


def device_option() -> click.Option:
    return click.Option(
        ["--device"],
        default="auto",
        show_default=True,
        help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps.",
    )


def command_line() -> str:
    """The current srpipe command line as a shell-quoted string (for reports)."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.find_root().meta.get("srpipe.argv") if ctx is not None else None
    return shlex.join(["srpipe", *(argv if argv is not None else sys.argv[1:])])
