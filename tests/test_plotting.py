import matplotlib


matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import plotting  # noqa: E402
from helpers.lesson.judging import confidence_bins  # noqa: E402
from tests.builders import make_image_folder  # noqa: E402


def test_every_plot_returns_a_figure_and_can_save(tmp_path):
    root = make_image_folder(tmp_path / "d")
    files = {p.name: sorted(p.glob("*.jpg")) for p in root.iterdir()}
    labels = np.array([0, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 2]] * 0.8 + 0.2 / 3
    figures = [
        plotting.sample_per_class(files, image_size=32, save_to=tmp_path / "s.png"),
        plotting.class_counts({"a": 3, "b": 5}),
        plotting.image_size_spread(np.array([[10, 20], [30, 30]])),
        plotting.image_grid(np.zeros((3, 8, 8, 3)), titles=["a", "b", "c"]),
        plotting.confusion_matrix(labels, probs.argmax(1), ["a", "b", "c"]),
        plotting.reliability_diagram({"m": confidence_bins(labels, probs)}),
        plotting.grouped_bars({"m": [0.1, 0.2, 0.3]}, ["a", "b", "c"], ylabel="F1"),
        plotting.accuracy_vs_cost({"m": (1.0, 0.5), "e": (10.0, 0.6)}, members=("m",)),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert (tmp_path / "s.png").stat().st_size > 0


def test_the_cost_plot_labels_its_axis_once_and_keeps_numbers_apart():
    figure = plotting.accuracy_vs_cost({"a": (3.0, 0.5), "b": (40.0, 0.6), "c": (40.0, 0.6)})
    ax = figure.axes[0]
    figure.canvas.draw()
    assert not [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    offsets = [text.xyann[1] for text in ax.texts]
    assert offsets[1] != offsets[2]  # two ensembles at the same point: their numbers apart


def test_metric_against_severity_averages_the_corruptions():
    results = {"severities": [1, 3], "corruptions": ["noise", "blur"],
               "clean": {"m": {"accuracy": 0.9, "ece": 0.1}},
               "models": {"m": {c: {"1": {"accuracy": 0.8, "ece": 0.1},
                                    "3": {"accuracy": 0.6 if c == "noise" else 0.4, "ece": 0.2}}
                                for c in ("noise", "blur")}}}
    figure = plotting.metric_vs_severity(results, highlight=("m",))
    line = figure.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [0.9, 0.8, 0.5])


def test_training_curves_from_a_csv_log(tmp_path):
    log = tmp_path / "h.csv"
    log.write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.2,0.4,1.3\n1,0.6,1.0,0.5,1.1\n")
    assert plotting.read_history(log)["val_loss"] == [1.3, 1.1]
    figure = plotting.training_curves(log)
    assert len(figure.axes[0].lines) == 2


def test_confusion_matrix_rows_are_normalised():
    figure = plotting.confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b"])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["0.50", "0.50", "0.00", "1.00"]


def test_model_structure_without_graphviz_prints_the_summary(monkeypatch, capsys, tmp_path):
    import shutil

    import keras

    monkeypatch.setattr(shutil, "which", lambda name: None)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="tiny")
    assert plotting.model_structure(model, tmp_path / "m.png") is None
    assert "Graphviz" in capsys.readouterr().out
