"""The tested lock behind `make demo` and `make test`: check it, or refresh it.

`pyproject.toml` states ranges (what srpipe works with, for people who install it into their own
environment); `requirements.lock` pins the exact versions that the two commands install (pip
constraints, every package of the environment, pip and setuptools included). Each upstream
release used to reach a fresh clone the day it appeared (opencv-python 5.1 broke `make test`
overnight); with the lock a new release reaches it only through `make lock`, which resolves the
newest versions into a scratch environment, runs ruff and the whole test suite there, and
rewrites the lock only when both pass.

    python scripts/lock.py check              # pyproject.toml and the lock agree
    python scripts/lock.py check --installed  # ... and this environment is exactly the lock
    python scripts/lock.py refresh            # `make lock`: newest versions, tested, then written

The lock is for the platform it was made on (its header says which: the project machines are
Linux x86_64 with Python 3.11, where torch 2.14.1 lies on disk); elsewhere install the ranges
with `pip install -e '.[all]'`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
# SRPIPE_LOCK_FILE: `refresh` points its test run at the candidate it is about to write
LOCK = Path(os.environ.get("SRPIPE_LOCK_FILE", REPO / "requirements.lock"))
PYPROJECT = REPO / "pyproject.toml"
# The extras the two commands install (the Makefile's EXTRAS).
LOCKED_EXTRAS = ("dev", "all")
# pip's own tooling, pinned so that the installer and the build backend cannot move either;
# `pip freeze` leaves them out unless asked.
TOOLING = ("pip", "setuptools")


class Lock(NamedTuple):
    """A parsed lock: canonical name -> exact version, and the header's platform line."""

    pins: dict[str, Version]
    platform: str | None

    @classmethod
    def read(cls, path: Path = LOCK) -> Lock:
        from packaging.utils import canonicalize_name
        from packaging.version import Version

        pins: dict[str, Version] = {}
        where = None
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if line.startswith("# platform:"):
                where = line.split(":", 1)[1].strip()
            if not line or line.startswith("#"):
                continue
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
            if not match:
                raise ValueError(f"{path.name}:{number}: not an exact pin 'name==version': {raw}")
            name = canonicalize_name(match[1])
            if name in pins:
                raise ValueError(f"{path.name}:{number}: {name} is pinned twice")
            pins[name] = Version(match[2])
        return cls(pins, where)


def platform_tag() -> str:
    """What a lock is valid for: OS, machine and Python minor version."""
    return f"{sys.platform}-{platform.machine()}-py{sys.version_info[0]}.{sys.version_info[1]}"


def project_requirements(
    pyproject: Path = PYPROJECT, extras: tuple[str, ...] = LOCKED_EXTRAS
) -> list[Requirement]:
    """The project's dependencies plus the named extras, self-references expanded, plus the
    build system's requirements (the Makefile builds srpipe without isolation, from the lock)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads(pyproject.read_text())
    name = canonicalize_name(project["project"]["name"])
    optional = project["project"].get("optional-dependencies", {})
    found = [Requirement(r) for r in project["build-system"]["requires"]]
    found += [Requirement(r) for r in project["project"]["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise ValueError(f"pyproject.toml has no extra {extra!r}")
        for text in optional[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def disagreements(lock: Lock, requirements: list[Requirement]) -> list[str]:
    """One line per requirement that the lock leaves out or pins outside its range."""
    from packaging.markers import default_environment
    from packaging.utils import canonicalize_name

    environment = default_environment()
    problems = []
    for requirement in requirements:
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        pinned = lock.pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is required but not in the lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement} is required but the lock pins {pinned}")
    for tool in TOOLING:
        if tool not in lock.pins:
            problems.append(f"{tool} is not pinned (the installer itself must not move)")
    return problems


def installed_versions() -> dict[str, Version]:
    """Every distribution in this environment except srpipe itself."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    found = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name != "srpipe":
            found[name] = Version(dist.version)
    return found


def environment_differences(lock: Lock, installed: dict[str, Version]) -> list[str]:
    """How this environment departs from the lock, one line each."""
    problems = []
    for name, version in sorted(installed.items()):
        pinned = lock.pins.get(name)
        if pinned is None:
            problems.append(f"{name} {version} is installed but not in the lock")
        elif pinned != version:
            problems.append(f"{name} {version} is installed; the lock pins {pinned}")
    for name in sorted(set(lock.pins) - set(installed)):
        problems.append(f"{name} {lock.pins[name]} is in the lock but not installed")
    return problems


def check(installed: bool) -> int:
    lock = Lock.read()
    problems = disagreements(lock, project_requirements())
    if lock.platform and lock.platform != platform_tag():
        print(
            f"note: {LOCK.name} was made on {lock.platform}, this is {platform_tag()}; "
            "if pip cannot install it, install the ranges: pip install -e '.[all]'",
            file=sys.stderr,
        )
    if installed:
        problems += environment_differences(lock, installed_versions())
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    if problems:
        print(
            f"lock: {len(problems)} problem(s); run `make lock` to resolve, test and rewrite "
            f"{LOCK.name} (or fix pyproject.toml's range)",
            file=sys.stderr,
        )
        return 1
    what = "this environment matches it" if installed else "pyproject.toml agrees with it"
    print(f"lock: {len(lock.pins)} pins, {what}")
    return 0


def _run(argv: list[str], venv: Path, log, extra_env: dict[str, str] | None = None) -> None:
    """Run one step in the scratch environment, its output to the log; raise on failure."""
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.update({"VIRTUAL_ENV": str(venv), **(extra_env or {})})
    print(f"$ {' '.join(argv)}", file=log, flush=True)
    print(f"  {' '.join(argv)}")
    subprocess.run(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)


def _candidate(python: str, path: Path) -> int:
    """Freeze the scratch environment into ``path`` as a lock; the number of pins."""
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = sorted(
        (line for line in frozen.splitlines() if line and not line.startswith("#")),
        key=lambda line: re.sub(r"[-_.]+", "-", line.split("==")[0]).lower(),
    )
    header = [
        "# The exact versions `make demo` and `make test` install (pip constraints).",
        "# Written by `make lock` (scripts/lock.py refresh); do not edit by hand.",
        f"# made: {dt.date.today().isoformat()}; ruff and the test suite passed with them",
        f"# platform: {platform_tag()}",
    ]
    path.write_text("\n".join([*header, *pins]) + "\n")
    return len(pins)


def refresh(keep: bool) -> int:
    """Resolve the newest versions in a scratch venv, test them, write the lock if they pass."""
    scratch = Path(tempfile.mkdtemp(prefix="srpipe-lock-"))
    venv, log_path, candidate = scratch / "venv", scratch / "lock.log", scratch / LOCK.name
    python = str(venv / "bin" / "python")
    extras = ",".join(LOCKED_EXTRAS)
    print(f"resolving the newest versions into {venv} (log: {log_path})")
    try:
        with log_path.open("w") as log:
            _run([sys.executable, "-m", "venv", str(venv)], venv, log)
            _run([python, "-m", "pip", "install", "--upgrade", *TOOLING], venv, log)
            # torch/torchvision: the newest the machine's pip cap allows (the builds on disk)
            _run(
                [python, "-m", "pip", "install", "--no-build-isolation", "-e", f".[{extras}]"],
                venv,
                log,
            )
            _run([python, "-m", "pip", "check"], venv, log)
            pins = _candidate(python, candidate)
            # the candidate describes the scratch environment exactly and satisfies
            # pyproject.toml (checked by the scratch Python, which has `packaging`); the test
            # suite's lock tests read the candidate, not the lock it would replace
            use_candidate = {"SRPIPE_LOCK_FILE": str(candidate)}
            _run([python, __file__, "check", "--installed"], venv, log, use_candidate)
            _run([str(venv / "bin" / "ruff"), "check", "."], venv, log)
            _run(
                [python, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile"],
                venv,
                log,
                use_candidate,
            )
    except subprocess.CalledProcessError as error:
        print(
            f"lock: `{' '.join(map(str, error.cmd))}` failed (exit {error.returncode}); "
            f"{LOCK.name} is unchanged; see {log_path}",
            file=sys.stderr,
        )
        return 1
    tmp = LOCK.with_name(LOCK.name + ".partial")
    shutil.copyfile(candidate, tmp)
    os.replace(tmp, LOCK)
    print(f"lock: wrote {LOCK} ({pins} pins); ruff and the test suite passed with it")
    if keep:
        print(f"scratch environment kept at {venv}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    checking = sub.add_parser("check", help="pyproject.toml and the lock agree")
    checking.add_argument(
        "--installed", action="store_true", help="and this environment is exactly the lock"
    )
    refreshing = sub.add_parser("refresh", help="resolve the newest, test, write the lock")
    refreshing.add_argument("--keep", action="store_true", help="keep the scratch environment")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.installed)
    return refresh(args.keep)


if __name__ == "__main__":
    sys.exit(main())
