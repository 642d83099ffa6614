"""Run the whole series: ``python -m helpers.run [--preset smoke] [--from 03] [--only 05,06]
[--solutions] [--html]``.

Each notebook runs in a fresh kernel (nbclient), is saved with its outputs into
``<run folder>/executed/``, and its time is shown; the leaderboard from ``results.md``
and, after a run that reaches the last notebook, the series' answer from
``results_summary.md`` are printed at the end. A failing cell stops the run with the notebook,
the cell's heading and the error, and the exit code is non-zero.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

from helpers import artifacts, catalogue, command_line, config, data, site
from helpers.catalogue import NOTEBOOKS


CELL_TIMEOUT_S = 6 * 3600


def select(start: str | None, only: str | None) -> list[str]:
    """The notebooks to run, by two-digit number: all, from one on, or a list."""
    numbers = [name[:2] for name in NOTEBOOKS]
    allowed = f"use {numbers[0]}-{numbers[-1]}"
    if only:
        wanted = [n.strip().zfill(2) for n in only.split(",") if n.strip()]
        if unknown := [n for n in wanted if n not in numbers]:
            raise ValueError(f"--only {only}: no notebook numbered {', '.join(unknown)}; "
                             f"{allowed}.")
        return [name for name in NOTEBOOKS if name[:2] in wanted]
    if start:
        if start.zfill(2) not in numbers:
            raise ValueError(f"--from {start}: no such notebook; {allowed}.")
        return list(NOTEBOOKS[numbers.index(start.zfill(2)):])
    return list(NOTEBOOKS)


def with_solutions(chosen: list[str]) -> list[str]:
    """``chosen`` with each solutions notebook after the last notebook it solves (``01-04``
    after 04): the solutions reuse what those notebooks saved."""
    return [each for name in chosen
            for each in [name] + [s.name for s in catalogue.SOLUTIONS if s.covers[-1] == name]]


def missing_inputs(settings: config.Settings, chosen: list[str]) -> list[str]:
    """The notebooks to run before ``chosen``: every notebook they need (``catalogue.plan``)
    that is not chosen and whose outputs are missing from the run folder (empty: all there)."""
    return [name for name in catalogue.plan(chosen) if name not in chosen
            and not all(path.exists() for path in artifacts.outputs(settings, name))]


def _heading_of(nb, index: int) -> str:
    """The first heading of the last markdown cell with one above cell ``index``."""
    return next((line.lstrip("# ").strip() for cell in reversed(nb.cells[:index])
                 if cell.cell_type == "markdown" for line in cell.source.splitlines()
                 if line.startswith("#")), "(before the first heading)")


class Progress:
    """The status line of the notebook being run: its number, name, the section (heading) now
    running and the time so far. On a terminal it is redrawn every second, so a long
    training cell shows it is alive; elsewhere (CI logs, pipes) it prints one line per
    notebook, as ``[3/8] 03_vgg16 ... done in 160.1 s``."""

    def __init__(self, stream=None, interval: float = 1.0):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.interval = interval
        self.label, self.section, self.start = "", "", time.perf_counter()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def begin(self, label: str) -> None:
        self.label, self.section, self.start = label, "starting the kernel", time.perf_counter()
        if not self.live:
            print(f"{label} ...", end=" ", file=self.stream, flush=True)
            return
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.is_set():
            minutes, seconds = divmod(int(time.perf_counter() - self.start), 60)
            self.stream.write(f"\r\x1b[2K{self.label} · {self.section} · "
                              f"{minutes}:{seconds:02d}")
            self.stream.flush()
            self._stop.wait(self.interval)

    def end(self, outcome: str) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
            self.stream.write(f"\r\x1b[2K{self.label} ... ")
        print(outcome, file=self.stream, flush=True)


def execute(path: Path, out_dir: Path, progress: Progress | None = None,
            env: dict[str, str] | None = None) -> float:
    """Execute the notebook at ``path`` in a fresh kernel inside its folder; return seconds
    taken. ``env`` is the kernel's environment (default: this process's); ``progress`` is told
    the heading of each section as the kernel reaches it. A cell may take CELL_TIMEOUT_S."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    name = Path(path).stem
    nb = nbformat.read(path, as_version=4)

    def on_cell_start(cell, cell_index, **_):
        if progress is not None and cell.cell_type == "code":
            progress.section = _heading_of(nb, cell_index)

    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=on_cell_start)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # The kernel's own stderr (TensorFlow's C++ lines, Jupyter's transport notices) goes to a
    # log file beside the executed notebook instead of the terminal; cell errors are in the
    # notebook.
    try:
        with (out_dir / f"{name}.kernel.log").open("w") as kernel_log:
            client.execute(stderr=kernel_log, stdout=kernel_log, env=env or dict(os.environ))
    except CellExecutionError as error:
        failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
            o.get("output_type") == "error" for o in c.get("outputs", []))), len(nb.cells))
        summary = f"{error.ename}: {error.evalue}" if getattr(error, "ename", None) else str(error)
        raise RunError(name, _heading_of(nb, failed), summary, out_dir / f"{name}.ipynb",
                       details=str(error)) from None
    except DeadKernelError:
        # The cell that was running has no outputs yet; the last one with an execution count is it.
        running = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and c.get("execution_count")), default=len(nb.cells))
        raise RunError(name, _heading_of(nb, running),
                       "the kernel died (killed, or out of memory). Artifacts are written "
                       f"atomically, so rerun with `python -m helpers.run --from {name[:2]}`",
                       out_dir / f"{name}.ipynb") from None
    finally:
        nbformat.write(nb, out_dir / f"{name}.ipynb")
    return time.perf_counter() - start


class RunError(RuntimeError):
    """A notebook failed: its name, the heading above the failing cell, the error; ``details``
    holds the cell's source and traceback."""

    def __init__(self, notebook: str, heading: str, summary: str, executed: Path,
                 details: str = ""):
        summary = re.sub(r"\x1b\[[0-9;]*m", "", summary).strip()  # no terminal colour codes
        self.details = re.sub(r"\x1b\[[0-9;]*m", "", details).strip()
        super().__init__(f"{notebook}.ipynb failed in the cell under '{heading}':\n  {summary}\n"
                         f"Open {executed} to see the whole error.")


def main(argv: list[str] | None = None) -> int:
    parser = command_line("run", __doc__)
    parser.add_argument("--preset", choices=["auto", *config.PRESET_NAMES],
                        help="same as ENSEMBLE_PRESET (default: the variable, else auto)")
    parser.add_argument("--from", dest="start", metavar="NN", help="start at notebook NN (resume)")
    parser.add_argument("--only", metavar="NN,...", help="run only these notebooks, e.g. 05,06")
    parser.add_argument("--data-dir", type=Path, help="same as ENSEMBLE_DATA_DIR")
    parser.add_argument("--solutions", action="store_true",
                        help="also run the worked solutions of the exercises, after the "
                             "notebooks they solve")
    parser.add_argument("--html", action="store_true",
                        help="the answer key: also run the worked solutions (as --solutions), "
                             "then render the run's executed notebooks as HTML pages with an "
                             "index, in <run folder>/site/ (helpers/site.py)")
    args = parser.parse_args(argv)

    overrides = {}
    if args.preset:
        overrides[config.PRESET_VARIABLE] = args.preset
    if args.data_dir:
        overrides[config.VARIABLES["data_dir"]] = str(args.data_dir.expanduser().resolve())
    try:
        settings = config.load({**os.environ, **overrides})
        chosen = select(args.start, args.only)
        if args.solutions or args.html:  # the answer key holds the solutions' pages too
            chosen = with_solutions(chosen)
        if settings.data_dir is not None:
            data.locate_dataset(settings.data_dir)  # says how to get the data before any kernel
        if first := missing_inputs(settings, chosen):
            raise ValueError(
                f"Nothing was run: the notebooks chosen ({', '.join(n[:2] for n in chosen)}) "
                f"read what earlier notebooks save, and {settings.run_dir} lacks the outputs of "
                f"{', '.join(first)}. Run those first with the same settings (`python -m "
                f"helpers.run --only {','.join(name[:2] for name in first)}`), or unpack the "
                f"members bundle (`python -m helpers.bundle unpack FILE`) for 01-04.")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, data.DatasetError):
            print("To run on a generated dataset instead: python -m helpers.run --preset smoke",
                  file=sys.stderr)
        return 2

    # The kernels' environment: this process's, with the settings made explicit and paths
    # resolved (kernels run inside notebooks/, not in this folder). This process's own
    # environment is left as it was.
    kernel_env = {**os.environ, **overrides, config.PRESET_VARIABLE: settings.preset,
                  config.VARIABLES["artifacts_root"]: str(settings.artifacts_root)}
    if settings.data_dir is not None:
        kernel_env[config.VARIABLES["data_dir"]] = str(settings.data_dir)
    print(settings, "\n", flush=True)
    out_dir = artifacts.executed_dir(settings)
    timings: list[tuple[str, float]] = []
    progress = Progress()
    for i, name in enumerate(chosen, 1):
        progress.begin(f"[{i}/{len(chosen)}] {name}")
        try:
            seconds = execute(catalogue.BY_NAME[name].path, out_dir, progress, env=kernel_env)
        except RunError as error:
            progress.end("failed")
            print(f"error: {error}", file=sys.stderr)
            return 1
        except BaseException:
            progress.end("stopped")
            raise
        timings.append((name, seconds))
        progress.end(f"done in {seconds:.1f} s")

    print("\nnotebook               seconds")
    for name, seconds in timings:
        print(f"{name:<22} {seconds:>7.1f}")
    print(f"{'total':<22} {sum(s for _, s in timings):>7.1f}")
    artifacts.write_json(out_dir / "timings.json",
                         {"preset": settings.preset, "seconds": dict(timings)})
    print(f"Executed notebooks: {out_dir}")
    # the leaderboard, then the series' answer (when this run ended with notebook 09)
    tables = [artifacts.results_path(settings)] + (
        [artifacts.summary_path(settings)] if chosen[-1] == NOTEBOOKS[-1] else [])
    for results in (path.with_suffix(".md") for path in tables):
        if results.exists():
            print("\n" + results.read_text(encoding="utf-8"))
    if args.html:
        print(f"Answer key (HTML): {site.build(settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
