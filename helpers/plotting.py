"""The series' figures. Each function returns the matplotlib figure and saves it when
given ``save_to``, so notebooks stay one line per plot."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import confusion_matrix as sk_confusion_matrix


#: Metric names as the notebooks' text writes them.
METRIC_NAMES = {"accuracy": "accuracy", "ece": "ECE", "nll": "log-loss",
                "nll_ts": "log-loss after temperature scaling", "brier": "Brier score"}


def _finish(fig, save_to: Path | None):
    fig.tight_layout()
    if save_to is not None:
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save_to, dpi=120, bbox_inches="tight")
    return fig


def sample_per_class(files_by_class: dict[str, list[Path]], image_size: int = 128, seed: int = 0,
                     save_to: Path | None = None):
    """One random image of each class, read with OpenCV.

    OpenCV returns pixels in BGR order; matplotlib expects RGB, so we convert (the original
    converted with ``COLOR_BGRA2RGB`` although ``imread`` returns 3 channels).
    """
    import cv2

    rng = np.random.default_rng(seed)
    names = sorted(files_by_class)
    cols = min(4, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        path = files_by_class[name][rng.integers(len(files_by_class[name]))]
        bgr = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
        ax.imshow(cv2.cvtColor(cv2.resize(bgr, (image_size, image_size)), cv2.COLOR_BGR2RGB))
        ax.set_title(name)
    return _finish(fig, save_to)


def class_counts(counts: dict[str, int], save_to: Path | None = None):
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar_label(ax.bar(list(counts), list(counts.values()), color="tab:blue"))
    ax.set_ylabel("images")
    ax.set_title("Images per class")
    ax.tick_params(axis="x", rotation=30)
    return _finish(fig, save_to)


def image_size_spread(sizes: np.ndarray, save_to: Path | None = None):
    """Scatter of widths and heights, and a histogram of aspect ratios."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.scatter(sizes[:, 0], sizes[:, 1], s=6, alpha=0.4)
    left.set(xlabel="width (px)", ylabel="height (px)", title="Image sizes")
    right.hist(sizes[:, 0] / sizes[:, 1], bins=30, color="tab:orange")
    right.set(xlabel="width / height", ylabel="images", title="Aspect ratios")
    return _finish(fig, save_to)


def image_grid(images, titles: list[str] | None = None, cols: int = 4, save_to: Path | None = None):
    """A grid of 0-255 RGB images (e.g. the augmentation preview); they may differ in size."""
    images = list(images)
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(np.clip(np.asarray(images[i]), 0, 255).astype("uint8"))
            if titles:
                ax.set_title(titles[i], fontsize=9)
    return _finish(fig, save_to)


def read_history(history) -> dict[str, list[float]]:
    """A Keras ``History``, its ``.history`` dict, or the path of a CSVLogger file."""
    if hasattr(history, "history"):
        return history.history
    if isinstance(history, dict):
        return history
    rows = list(csv.DictReader(Path(history).read_text(encoding="utf-8").splitlines()))
    return {key: [float(r[key]) for r in rows] for key in rows[0] if key != "epoch"}


def training_curves(history, title: str = "", save_to: Path | None = None):
    """Loss and accuracy per epoch for training and validation."""
    values = read_history(history)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, label in (("", "train"), ("val_", "validation")):
            if (series := values.get(prefix + metric)) is not None:
                ax.plot(range(1, len(series) + 1), series, marker="o", label=label)
        ax.set(xlabel="epoch", ylabel=metric, title=f"{title} {metric}".strip())
        ax.legend()
    return _finish(fig, save_to)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, class_names: list[str],
                     title: str = "Confusion matrix (rows sum to 1)", save_to: Path | None = None):
    """Row-normalised confusion matrix with each cell annotated."""
    k = len(class_names)
    cm = sk_confusion_matrix(labels, predicted, labels=range(k), normalize="true")
    fig, ax = plt.subplots(figsize=(1 + 0.75 * k, 0.75 * k))
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    for (i, j), share in np.ndenumerate(cm):
        ax.text(j, i, f"{share:.2f}", ha="center", va="center", fontsize=8,
                color="white" if share > 0.5 else "black")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _finish(fig, save_to)


def reliability_diagram(curves: dict[str, np.ndarray], save_to: Path | None = None):
    """Accuracy against confidence per bin, one line per model; the diagonal is perfect.
    ``curves`` maps a model to rows of (mean confidence, accuracy, ...) per bin."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", label="perfectly calibrated")
    for name, rows in curves.items():
        ax.plot(rows[:, 0], rows[:, 1], marker="o", label=name)
    ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title="Reliability")
    ax.legend(fontsize=8)
    return _finish(fig, save_to)


def grouped_bars(values: dict[str, np.ndarray], group_names: list[str], ylabel: str,
                 title: str = "", save_to: Path | None = None):
    """One bar per model within each group (e.g. per-class F1 of every model)."""
    fig, ax = plt.subplots(figsize=(11, 3.8))
    width = 0.8 / max(1, len(values))
    for i, (name, heights) in enumerate(values.items()):
        ax.bar(np.arange(len(group_names)) + i * width, heights, width, label=name)
    ax.set_xticks(np.arange(len(group_names)) + 0.4 - width / 2, group_names, rotation=30)
    ax.set(ylabel=ylabel, title=title)
    ax.legend(fontsize=8, ncol=4)
    return _finish(fig, save_to)


def accuracy_vs_cost(points: dict[str, tuple[float, float]], members=(),
                     save_to: Path | None = None):
    """Each model as a point: cost on a logarithmic x axis (ensembles cost many times a member),
    accuracy on y. Members (``members``) are drawn as circles, the rest as squares, and every
    point is numbered, with a legend that names the numbers; a number that would sit on an
    earlier one moves up."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(9, 4.5))
    placed: list[tuple[float, float]] = []
    for number, (name, (cost, accuracy)) in enumerate(points.items(), 1):
        marker = "o" if name in members else "s"
        ax.scatter(cost, accuracy, marker=marker, s=60, label=f"{number}: {name}")
        near = sum(abs(np.log10(cost) - np.log10(c)) < 0.05 and abs(accuracy - a) < 0.02
                   for c, a in placed)
        placed.append((cost, accuracy))
        ax.annotate(str(number), (cost, accuracy), textcoords="offset points",
                    xytext=(5, 4 + 10 * near), fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="latency per image at batch 32 (ms, log scale)", ylabel="test accuracy",
           title="Accuracy against cost (circles: single models, squares: ensembles)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _finish(fig, save_to)


def model_structure(model, save_to: Path):
    """A diagram of ``model`` when Graphviz and pydot are installed, else its text summary
    (``keras.utils.plot_model`` needs both; without them we say so instead of failing)."""
    import importlib.util
    import shutil

    import keras

    if shutil.which("dot") and importlib.util.find_spec("pydot"):
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        return keras.utils.plot_model(model, to_file=str(save_to), show_shapes=True, dpi=70)
    model.summary(expand_nested=False)
    print("(Install Graphviz and pydot to draw this as a diagram: see the README.)")
    return None


def metric_vs_severity(results: dict, metrics=("accuracy", "ece"), highlight: tuple = (),
                       save_to: Path | None = None):
    """One panel per metric, one line per model of ``results_shift.json``'s layout: its value on
    clean images, then at each severity averaged over corruption types. Models in ``highlight``
    are drawn thick, so the compared pair stands out."""
    severities = results["severities"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    x = [0, *severities]
    for ax, metric in zip(axes.ravel(), metrics):
        for name, by_corruption in results["models"].items():
            values = [results["clean"][name][metric]] + [
                np.mean([by_corruption[c][str(s)][metric] for c in results["corruptions"]])
                for s in severities]
            bold = name in highlight
            ax.plot(x, values, marker="o", linewidth=2.5 if bold else 1, alpha=1 if bold else 0.6,
                    label=name + (" (compared)" if bold else ""))
        ax.set_xticks(x, ["clean", *map(str, severities)])
        title = METRIC_NAMES.get(metric, metric)
        ax.set(xlabel="severity (mean over corruption types)", ylabel=title,
               title=f"{title} under shift")
    axes.ravel()[0].legend(fontsize=7)
    return _finish(fig, save_to)


def curves(series: dict[str, list[float]], ylabel: str, title: str = "",
           save_to: Path | None = None):
    """One line per named series against the epoch (e.g. the validation loss of variants)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return _finish(fig, save_to)
