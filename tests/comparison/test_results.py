"""The result types are a leaf: importing them loads no report writer and no plugin manager."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_results_loads_no_report_writer_nor_plugins() -> None:
    code = "import sys, srpipe.comparison.results\nprint('\\n'.join(sorted(sys.modules)))\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    assert "srpipe.comparison.results" in loaded  # the check ran in the right environment
    writers = sorted(m for m in loaded if m == "srpipe.report" or m.startswith("srpipe.report."))
    assert not writers, writers
    assert "srpipe.plugins" not in loaded
    assert "srpipe.comparison.harness" not in loaded
