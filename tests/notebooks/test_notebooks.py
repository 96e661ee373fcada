"""Every notebook runs top to bottom in a real Jupyter kernel, as a reader would run it.

The notebooks teach the same flow as the app through the same Python API; a notebook that no
longer runs teaches nothing. Each is executed from notebooks/ (where a reader opens it) with its
runs written to a temporary folder instead of <repo>/runs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # The kernel inherits TMPDIR, so the folders a notebook makes with tempfile land in tmp_path
    # and go with it, instead of piling up in /tmp on every run of the suite.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError naming the cell and its error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    # The notebook drew its figures (plotly outputs), not only text.
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) or "text/html" in o.get("data", {})
               for o in outputs if o.get("output_type") in ("display_data", "execute_result"))
    assert list((tmp_path / "runs").iterdir()), "the notebook's runs went to WORKBENCH_RUNS_DIR"
