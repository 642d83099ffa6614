import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import run


def _notebook(cells: list[tuple[str, str]]) -> str:
    """A notebook of ("md" | "code", source) cells, for the runner to execute."""
    build = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nbformat.v4.new_notebook(cells=[build[kind](text) for kind, text in cells],
                                                    metadata={"kernelspec": kernelspec}))


def test_select_notebooks():
    assert run.select(None, None) == list(run.NOTEBOOKS)
    assert run.select("5", None) == ["05_ensembles", "06_evaluation", "07_under_shift",
                                     "08_distillation", "09_families"]
    assert run.select(None, "02,06") == ["02_custom_cnn", "06_evaluation"]
    assert run.select("7", None) == ["07_under_shift", "08_distillation", "09_families"]
    with pytest.raises(ValueError, match="use 01-09"):
        run.select(None, "10")


def test_solutions_run_after_the_notebooks_they_solve():
    assert run.with_solutions(run.select("3", "")) == [
        "03_vgg16", "04_mobilenet", "01-04_solutions", "05_ensembles", "06_evaluation",
        "05-06_solutions", "07_under_shift", "08_distillation", "09_families", "07-09_solutions"]
    assert run.catalogue.BY_NAME["05-06_solutions"].path.parent.name == "solutions"
    assert all(s.path.exists() for s in run.catalogue.EVERY)


def test_missing_dataset_is_reported_before_any_kernel_starts(tmp_path):
    result = subprocess.run([sys.executable, "-m", "helpers.run", "--preset", "cpu", "--data-dir",
                             str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "python -m helpers.data download" in result.stderr and "--preset smoke" in result.stderr


def _use_notebook(tmp_path, name: str, cells: list[tuple[str, str]]) -> Path:
    """A one-off notebook called ``name``, in a folder of its own."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    path = notebooks / f"{name}.ipynb"
    path.write_text(_notebook(cells))
    return path


def _run_failing(tmp_path, name: str, cells: list[tuple[str, str]]) -> str:
    """Execute a one-off notebook called ``name`` with the runner; return its error message."""
    path = _use_notebook(tmp_path, name, cells)
    with pytest.raises(run.RunError) as error:
        run.execute(path, tmp_path / "executed")
    assert (tmp_path / "executed" / f"{name}.ipynb").exists()
    return str(error.value)


def test_a_failing_cell_names_notebook_heading_and_error(tmp_path):
    message = _run_failing(tmp_path, "01_data_preview", [
        ("md", "## Break something"), ("code", "raise ValueError('bad setting X')")])
    assert "01_data_preview.ipynb" in message and "Break something" in message
    assert "ValueError: bad setting X" in message


def test_a_killed_kernel_is_reported_with_how_to_resume(tmp_path):
    message = _run_failing(tmp_path, "02_custom_cnn", [
        ("md", "## Train it"), ("code", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")])
    assert "02_custom_cnn.ipynb" in message and "kernel died" in message
    assert "python -m helpers.run --from 02" in message and "Train it" in message


def test_the_runner_process_does_not_load_tensorflow():
    # -X importtime lists every module the runner imports; a bad --only stops it after set-up.
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "helpers.run", "--preset", "smoke",
                             "--only", "10"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "use 01-09" in result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert "helpers.config" in imported
    assert not [name for name in imported if name.split(".")[0] in ("tensorflow", "keras")]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_the_running_section_on_a_terminal_and_one_line_elsewhere(tmp_path):
    path = _use_notebook(tmp_path, "02_custom_cnn", [
        ("md", "# Title"), ("md", "## Train it"), ("code", "import time\ntime.sleep(1.5)")])

    terminal = _Terminal()
    progress = run.Progress(terminal, interval=0.1)
    progress.begin("[2/6] 02_custom_cnn")
    seconds = run.execute(path, tmp_path / "executed", progress)
    progress.end(f"done in {seconds:.1f} s")
    shown = terminal.getvalue()
    assert "[2/6] 02_custom_cnn · starting the kernel · 0:0" in shown
    assert "[2/6] 02_custom_cnn · Train it · 0:" in shown  # the section that was running
    assert shown.endswith(f"\r\x1b[2K[2/6] 02_custom_cnn ... done in {seconds:.1f} s\n")

    log = io.StringIO()  # not a terminal: no redrawing, one line per notebook
    progress = run.Progress(log)
    progress.begin("[2/6] 02_custom_cnn")
    progress.section = "Train it"
    progress.end("done in 1.0 s")
    assert log.getvalue() == "[2/6] 02_custom_cnn ... done in 1.0 s\n"


def test_a_notebook_whose_inputs_are_missing_stops_before_any_kernel_starts(tmp_path):
    """``--only 06`` on an empty run folder names every notebook to run first; once their outputs
    exist, nothing is missing."""
    from helpers import artifacts, catalogue, config

    result = subprocess.run([sys.executable, "-m", "helpers.run", "--preset", "smoke", "--only",
                             "06"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "Nothing was run" in result.stderr
    assert "--only 01,02,03,04,05" in result.stderr
    assert not (tmp_path / "smoke-generated-48px-random-seed42" / "executed").exists()

    settings = config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path)})
    for name in catalogue.plan(["06_evaluation"])[:4]:  # 01-04, as a bundle leaves them
        for path in artifacts.outputs(settings, name):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("saved")
    assert run.missing_inputs(settings, ["06_evaluation"]) == ["05_ensembles"]
    assert run.missing_inputs(settings, ["05_ensembles", "06_evaluation"]) == []
    assert run.missing_inputs(settings, run.with_solutions(run.select("5", None))) == []


def test_an_unknown_artifact_names_no_notebook():
    from helpers import catalogue

    assert catalogue.made_by("feature_concatenation[vgg16]") == "05_ensembles"
    assert catalogue.made_by("vgg16_head") == "03_vgg16"
    with pytest.raises(ValueError, match="No notebook makes an artifact called 'nonsense'"):
        catalogue.made_by("nonsense")
