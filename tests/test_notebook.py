"""In Jupyter, tabnas.run draws its progress bar as a notebook widget (a real kernel runs it)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
from nbclient import NotebookClient

CELL = ("import tabnas\n"
        "exp = tabnas.run('toy', ['random', 'rea'], seeds=3, budget=5)\n"
        "print(exp.counts)")


def test_progress_bar_is_a_widget_in_a_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    widgets = [o for o in outputs if o.output_type == "display_data"
               and "application/vnd.jupyter.widget-view+json" in o.data]
    assert widgets, [o.output_type for o in outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "{'ran': 6, 'skipped': 0, 'failed': 0}" in text, text


def test_no_bar_where_nobody_watches(tmp_path):
    """A script whose stderr is a pipe (a log, CI) gets no bar."""
    proc = subprocess.run([sys.executable, "-c", CELL], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "'ran': 6" in proc.stdout
