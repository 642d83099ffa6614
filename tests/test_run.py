import shutil

import nbformat
import pytest

from helpers import run
from tests.conftest import run_python


def _notebook(cells: list[tuple[str, str]]) -> str:
    """A notebook of ("md" | "code", source) cells, for the runner to execute."""
    build = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nbformat.v4.new_notebook(cells=[build[kind](text) for kind, text in cells],
                                                    metadata={"kernelspec": kernelspec}))


def test_select_notebooks():
    assert run.select(None, None) == list(run.NOTEBOOKS)
    assert run.select("5", None) == ["05_ensembles", "06_evaluation"]
    assert run.select(None, "02,06") == ["02_custom_cnn", "06_evaluation"]
    with pytest.raises(ValueError, match="use 01-06"):
        run.select(None, "09")


def test_missing_dataset_is_reported_before_any_kernel_starts(tmp_path):
    result = run_python("import sys; from helpers.run import main; sys.exit(main(['--preset', 'cpu', "
                        f"'--data-dir', {str(tmp_path / 'nothing')!r}]))")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "python -m helpers.data download" in result.stderr and "--preset smoke" in result.stderr


def test_a_failing_cell_names_notebook_heading_and_error(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_data_preview.ipynb").write_text(_notebook([
        ("md", "## Break something"), ("code", "raise ValueError('bad setting X')")]))
    monkeypatch.setattr(run, "notebooks_dir", lambda: notebooks)
    with pytest.raises(run.RunError) as error:
        run.execute("01_data_preview", tmp_path / "executed")
    message = str(error.value)
    assert "01_data_preview.ipynb" in message and "Break something" in message and "bad setting X" in message
    assert (tmp_path / "executed" / "01_data_preview.ipynb").exists()
    shutil.rmtree(notebooks)


def test_a_killed_kernel_is_reported_with_how_to_resume(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "02_custom_cnn.ipynb").write_text(_notebook([
        ("md", "## Train it"), ("code", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")]))
    monkeypatch.setattr(run, "notebooks_dir", lambda: notebooks)
    with pytest.raises(run.RunError) as error:
        run.execute("02_custom_cnn", tmp_path / "executed")
    message = str(error.value)
    assert "02_custom_cnn.ipynb" in message and "kernel died" in message
    assert "python -m helpers.run --from 02" in message and "Train it" in message
