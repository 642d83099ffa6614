"""The rendered answer key (helpers/site.py), on small executed notebooks made here: every page is
linked from the index with its title, run time and headline numbers; tables and figures are in
the pages, figures embedded. The whole smoke run is rendered by ``python -m helpers.run --preset
smoke --html`` (README, "Teaching with this series")."""

import base64
import json

import nbformat
import pytest

from helpers import artifacts, config, site


#: A 1x1 PNG: a figure output as Jupyter stores it (base64).
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()
TABLE = "| model | accuracy |\n|---|---|\n| ensemble | 0.828 |\n"


def executed(title: str, start: str, end: str) -> nbformat.NotebookNode:
    """A notebook as the runner saves it: a title, a markdown table output, a figure, and the
    timings nbclient records."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": TABLE,
                                                     "text/plain": "table"}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG,
                                                     "text/plain": "<Figure>"}),
    ]
    code.metadata["execution"] = {"iopub.status.busy": start, "iopub.status.idle": end}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nText."), code]
    return nb


@pytest.fixture
def run(tmp_path):
    settings = config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path)})
    folder = artifacts.executed_dir(settings)
    folder.mkdir(parents=True)
    for name, title in (("01_data_preview", "Look at the data"),
                        ("06_evaluation", "Compare on the test split"),
                        ("01-04_solutions", "Solutions to 01-04")):
        nbformat.write(executed(title, "2026-12-02T10:00:00.000Z", "2026-12-02T10:01:30.500Z"),
                       folder / f"{name}.ipynb")
    vs = {"accuracy_diff": 0.101, "accuracy_ci95": [0.075, 0.128], "nll_ts_diff": -0.28,
          "nll_ts_ci95": [-0.331, -0.228]}
    artifacts.write_json(artifacts.results_path(settings, "06_evaluation"), {
        "best_ensemble": "feature_concatenation", "best_member": "mobilenet", "test_size": 1035,
        "models": {"feature_concatenation": {"accuracy": 0.828}, "mobilenet": {"accuracy": 0.727}},
        "ensemble_vs_best_member": vs})
    return settings


def test_index_links_every_executed_notebook_with_title_time_and_headline(run):
    index = site.build(run)
    text = index.read_text(encoding="utf-8")
    for name in ("01_data_preview", "06_evaluation", "01-04_solutions"):
        assert f'href="{name}.html"' in text and (index.parent / f"{name}.html").exists()
    assert "02_custom_cnn" not in text, "only notebooks that ran"
    assert "Compare on the test split" in text and "1.5 min" in text
    assert "feature_concatenation minus mobilenet: accuracy +0.101 [+0.075, +0.128]" in text, (
        "06's headline, from its results file")


def test_pages_hold_the_tables_and_the_figures_embedded(run):
    page = (site.build(run).parent / "06_evaluation.html").read_text(encoding="utf-8")
    assert "<table" in page and "0.828" in page
    assert "<img" in page and f'src="data:image/png;base64,{PNG}' in page
    assert "Compare on the test split" in page


def test_run_seconds_from_nbclient_timings():
    nb = json.loads(nbformat.writes(executed("t", "2026-12-02T10:00:00Z",
                                             "2026-12-02T10:00:42Z")))
    assert site.run_seconds(nb) == 42
    assert site.run_seconds({"cells": []}) is None


def test_no_executed_notebooks_is_a_clear_error(tmp_path):
    settings = config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="python -m helpers.run"):
        site.build(settings)
