"""The tour: every public estimator demonstrated on real, bundled data.

Each subpackage registers its demonstrations in its own ``_tour.py`` with the
:func:`register` decorator; ``python -m skrep`` imports those modules, runs
the entries and prints one table. A demonstration is a function that takes
the output folder, runs skrep's estimator and a baseline on the same data,
may save figures there, and returns a :class:`TourResult`.
"""

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from skrep.utils.discovery import PUBLIC_MODULES

__all__ = [
    "TourEntry",
    "TourResult",
    "format_table",
    "load_entries",
    "pyplot",
    "register",
    "run",
    "save_figure",
    "timed",
]

#: Width of every line the tour prints; the full descriptions are in tour.csv.
WIDTH = 100


@dataclass(frozen=True)
class TourResult:
    """What one demonstration measured.

    Parameters
    ----------
    metric : str
        The metric's name, with its direction, e.g. ``"accuracy (higher is
        better)"``.
    score, seconds : float
        skrep's metric and its wall-clock time.
    baseline : str
        The baseline's name, e.g. ``"sklearn PCA"``.
    baseline_score, baseline_seconds : float
        The baseline's metric and time on the same data.
    figures : tuple of Path, default=()
        Figures written to the output folder.
    """

    metric: str
    score: float
    seconds: float
    baseline: str
    baseline_score: float
    baseline_seconds: float
    figures: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class TourEntry:
    """A registered demonstration of one estimator on one data set."""

    name: str
    estimator: str
    dataset: str
    func: Callable[[Path], TourResult]


_REGISTRY: dict[str, TourEntry] = {}


def register(*, estimator, dataset, name=None):
    """Register the decorated function as a tour entry.

    Parameters
    ----------
    estimator : str
        The public estimator it demonstrates, e.g. ``"RobustPCA"``.
    dataset : str
        The bundled data set it runs on, e.g. ``"digits (scikit-learn)"``.
    name : str, default=None
        A unique entry name; defaults to ``estimator``.

    Returns
    -------
    decorator : callable
        Registers and returns the function unchanged.
    """

    def decorator(func):
        entry = TourEntry(name or estimator, estimator, dataset, func)
        if entry.name in _REGISTRY and _REGISTRY[entry.name].func is not func:
            raise ValueError(f"Tour entry {entry.name!r} is registered twice.")
        _REGISTRY[entry.name] = entry
        return func

    return decorator


def load_entries():
    """Import every subpackage's ``_tour`` module and return all entries.

    Returns
    -------
    entries : list of TourEntry
        In the order of the subpackages, then of registration.
    """
    for module in PUBLIC_MODULES:
        if importlib.util.find_spec(f"{module}._tour") is not None:
            importlib.import_module(f"{module}._tour")
    return list(_REGISTRY.values())


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend: the tour writes files only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, *, dpi=100):
    """Lay ``fig`` out, write it to ``path`` and close it.

    A figure made without a layout engine (such as ``layout="constrained"``)
    is laid out tight first; the saved image is cropped to what is drawn,
    so that no title or label is cut off.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        The image file, usually in the tour's output folder.
    dpi : int, default=100

    Returns
    -------
    path : Path
        For the entry's :class:`TourResult` ``figures``.
    """
    plt = pyplot()
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def timed(func, *args, **kwargs):
    """Call ``func(*args, **kwargs)`` and return ``(result, seconds)``."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def run(entries, out_dir, *, log=print):
    """Run tour entries and collect their results in a table.

    Parameters
    ----------
    entries : list of TourEntry
        What to run.
    out_dir : path-like
        Folder for figures and the result table (created if missing).
    log : callable, default=print
        Receives one progress line per entry.

    Returns
    -------
    table : pandas.DataFrame
        One row per entry that ran.
    failures : list of (str, BaseException)
        The entries that raised, with their exception.
    """
    import pandas as pd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    for i, entry in enumerate(entries, start=1):
        step = f"[{i}/{len(entries)}] {entry.name}"
        log(_clip(f"{step} on {entry.dataset} ..."))
        try:
            result = entry.func(out_dir)
        except Exception as exc:  # report and go on with the other entries
            log(_clip(f"{step} FAILED: {exc!r}"))
            failures.append((entry.name, exc))
            continue
        log(
            _clip(
                f"{step}: {result.score:.4g} in {result.seconds:.2f} s "
                f"({_clip(result.baseline, 24)}: {result.baseline_score:.4g} in "
                f"{result.baseline_seconds:.2f} s)"
            )
        )
        rows.append(
            {
                "estimator": entry.name,
                "data set": entry.dataset,
                "metric": result.metric,
                "skrep": result.score,
                "skrep time (s)": result.seconds,
                "baseline": result.baseline,
                "baseline metric": result.baseline_score,
                "baseline time (s)": result.baseline_seconds,
                "figures": " ".join(str(Path(f).name) for f in result.figures),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "estimator",
            "data set",
            "metric",
            "skrep",
            "skrep time (s)",
            "baseline",
            "baseline metric",
            "baseline time (s)",
            "figures",
        ],
    )
    table.to_csv(out_dir / "tour.csv", index=False)
    return table, failures


def _clip(text, width=WIDTH):
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(table):
    """The result table as lines of at most :data:`WIDTH` characters.

    Long texts (the metric, the baseline's name) are cut with an ellipsis;
    ``tour.csv`` keeps them whole. The arrow tells the metric's direction:
    ``^`` higher is better, ``v`` lower is better.

    Parameters
    ----------
    table : pandas.DataFrame
        The table returned by :func:`run`.

    Returns
    -------
    text : str
        The table, one line per entry under a header line.
    """
    columns = [  # (header, width, right-aligned)
        ("estimator", 26, False),
        ("metric", 20, False),
        ("skrep", 8, True),
        ("time s", 6, True),
        ("baseline", 18, False),
        ("metric", 8, True),
        ("time s", 6, True),
    ]

    def line(cells):
        return " ".join(
            f"{_clip(c, w):>{w}}" if right else f"{_clip(c, w):<{w}}"
            for c, (_, w, right) in zip(cells, columns, strict=True)
        ).rstrip()

    def direction(metric):
        metric = str(metric)
        if "higher is better" in metric:
            return "^ " + metric.replace("(higher is better)", "").strip()
        if "lower is better" in metric:
            return "v " + metric.replace("(lower is better)", "").strip()
        return metric

    def number(value, width=8):
        """The most significant digits (up to 4) that fit in ``width``."""
        for digits in (4, 3, 2, 1):
            text = f"{value:.{digits}g}"
            if len(text) <= width:
                break
        return text

    lines = [line([h for h, _, _ in columns])]
    for row in table.itertuples(index=False):
        lines.append(
            line(
                [
                    row[0],
                    direction(row[2]),
                    number(row[3]),
                    f"{row[4]:.2f}",
                    row[5],
                    number(row[6]),
                    f"{row[7]:.2f}",
                ]
            )
        )
    return "\n".join(lines)
