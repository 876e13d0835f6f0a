"""Print skrep / peer ratios from asv's results.

Every benchmark whose parameters include ``library`` (see
``benchmarks/common.py``) times skrep and its peers on the same data in the
same run; this script pairs the ``"skrep"`` result with each peer's, for the
same values of the other parameters, and prints one row per pair::

    cd asv_bench
    asv run --environment existing --quick --set-commit-hash $(git rev-parse HEAD)
    python ratios.py                      # newest results file of this machine
    python ratios.py --format rst         # a table for doc/performance.rst
    python ratios.py --commit 1a2b3c4d --bench decomposition
    python ratios.py --summary --format rst --output ../doc/performance_table.rst

``--summary`` folds each benchmark class into one row per peer and parameter
set: the time ratio of each ``time_*`` method, the peak-memory ratio of the
fit, and the quality scores (``track_*``) of skrep and of the peer side by side;
``doc/performance.rst`` includes the table it writes.

``ratio`` is skrep / peer: below 1 skrep is faster (``time_*``) or lighter
(``peakmem_*``); for ``track_*`` scores the ratio is printed too, but read the
two scores (each benchmark's docstring says whether higher is better).

Only the standard library is used, so it runs anywhere asv's JSON is.
"""

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = "library"
SKREP = "skrep"


def load_config(path):
    """asv.conf.json allows // comments; strip them before parsing."""
    lines = [
        line
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("//")
    ]
    return json.loads("\n".join(lines))


def find_results_file(results_dir, machine=None, commit=None):
    """The results file to read: the newest one (by its ``date``) matching
    ``machine`` and the ``commit`` prefix."""
    candidates = []
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        if machine is not None and machine_dir.name != machine:
            continue
        for path in machine_dir.glob("*.json"):
            if path.name == "machine.json":
                continue
            data = json.loads(path.read_text())
            if commit is not None and not data.get("commit_hash", "").startswith(
                commit
            ):
                continue
            candidates.append((data.get("date") or 0, str(path), data))
    if not candidates:
        raise SystemExit(
            f"No asv results in {results_dir} (machine={machine}, commit={commit}).\n"
            "Run, from asv_bench/:  asv run --environment existing --quick "
            "--set-commit-hash $(git rev-parse HEAD)"
        )
    _, path, data = max(candidates)
    return Path(path), data


def unquote(value):
    """asv stores parameter values as their repr: "'skrep'" -> skrep."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def pair_rows(results, benchmarks, select=None):
    """Yield (benchmark, other params, peer, skrep value, peer value, unit)."""
    columns = results["result_columns"]
    for name, row in sorted(results["results"].items()):
        if select and not any(s in name for s in select):
            continue
        entry = dict(zip(columns, row, strict=False))
        meta = benchmarks.get(name, {})
        param_names = meta.get("param_names") or []
        params = entry.get("params") or []
        if LIBRARY not in param_names or not params:
            continue
        values = entry.get("result")
        combos = list(itertools.product(*params))
        if not isinstance(values, list) or len(values) != len(combos):
            continue
        position = param_names.index(LIBRARY)
        table = {}
        for combo, value in zip(combos, values, strict=True):
            combo = [unquote(v) for v in combo]
            library = combo.pop(position)
            others = tuple(
                zip(
                    param_names[:position] + param_names[position + 1 :],
                    combo,
                    strict=True,
                )
            )
            table.setdefault(others, {})[library] = value
        for others, by_library in table.items():
            for library, value in by_library.items():
                if library == SKREP:
                    continue
                yield (
                    name,
                    others,
                    library,
                    by_library.get(SKREP),
                    value,
                    meta.get("unit", ""),
                )


def is_number(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def fmt(value, unit):
    if not is_number(value):
        return "n/a"
    if unit == "seconds":
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value * 1e9:.3g} ns"
    if unit == "bytes":
        return f"{value / 2**20:.4g} MiB"
    return f"{value:.4g}"


def render(rows, fmt_name, header=None):
    header = header or [
        "benchmark",
        "parameters",
        "peer",
        "skrep",
        "peer value",
        "ratio",
    ]
    if fmt_name == "rst":
        out = [".. list-table::", "   :header-rows: 1", ""]
        for row in [header, *rows]:
            out.append(f"   * - {row[0]}")
            out.extend(f"     - {cell}" for cell in row[1:])
        return "\n".join(out)
    if fmt_name == "markdown":
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join(out)


def summary_rows(pairs):
    """Fold (benchmark, params, peer) pairs into one row per class/params/peer."""
    table = {}
    for name, others, peer, ours, theirs, unit in pairs:
        bench_class, _, method = name.rpartition(".")
        row = table.setdefault((bench_class, others, peer), {})
        row[method] = (ours, theirs, unit)
    rows = []
    for (bench_class, others, peer), methods in table.items():
        times, memory, quality = [], "n/a", []
        for method, (ours, theirs, unit) in sorted(methods.items()):
            ratio = (
                f"{ours / theirs:.3g}"
                if is_number(ours) and is_number(theirs) and theirs
                else "n/a"
            )
            if method.startswith("time_"):
                times.append(f"{method[5:]} {ratio}")
            elif method == "peakmem_fit":
                memory = ratio
            elif method.startswith("track_"):
                quality.append(f"{method[6:]} {fmt(ours, unit)} vs {fmt(theirs, unit)}")
        rows.append(
            [
                bench_class,
                ", ".join(f"{k}={v}" for k, v in others) or "-",
                peer,
                "; ".join(times) or "n/a",
                memory,
                "; ".join(quality) or "-",
            ]
        )
    return rows


SUMMARY_HEADER = [
    "benchmark",
    "parameters",
    "peer",
    "time ratio (skrep / peer)",
    "peak memory ratio (fit)",
    "quality: skrep vs peer",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=HERE / "asv.conf.json", type=Path)
    parser.add_argument("--machine", help="asv machine name (default: any)")
    parser.add_argument("--commit", help="commit hash prefix (default: newest)")
    parser.add_argument(
        "--bench", action="append", help="keep benchmarks whose name contains this"
    )
    parser.add_argument("--format", choices=["text", "markdown", "rst"], default="text")
    parser.add_argument(
        "--all", action="store_true", help="also list pairs where skrep has no result"
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="one row per benchmark class, parameters and peer",
    )
    parser.add_argument(
        "--output", type=Path, help="write the table to this file (with a header)"
    )
    args = parser.parse_args(argv)

    config = load_config(args.config)
    results_dir = (args.config.parent / config.get("results_dir", "results")).resolve()
    path, results = find_results_file(results_dir, args.machine, args.commit)
    benchmarks_file = results_dir / "benchmarks.json"
    benchmarks = (
        json.loads(benchmarks_file.read_text()) if benchmarks_file.exists() else {}
    )

    pairs = list(pair_rows(results, benchmarks, args.bench))
    rows, missing = [], 0
    for name, others, peer, ours, theirs, unit in pairs:
        if not is_number(ours) and not args.all:
            missing += 1
            continue
        ratio = (
            ours / theirs if is_number(ours) and is_number(theirs) and theirs else None
        )
        rows.append(
            [
                name,
                ", ".join(f"{k}={v}" for k, v in others) or "-",
                peer,
                fmt(ours, unit),
                fmt(theirs, unit),
                "n/a" if ratio is None else f"{ratio:.3g}",
            ]
        )
    origin = (
        f"{path.parent.name}/{path.name}: commit {results.get('commit_hash', '?')[:8]},"
        f" python {results.get('python', '?')}"
    )
    if args.summary:
        rows = summary_rows(p for p in pairs if is_number(p[3]) or args.all)
    header = SUMMARY_HEADER if args.summary else None
    text = render(rows, args.format, header) if rows else "(no skrep/peer pairs)"
    if args.output is not None:
        args.output.write_text(
            f".. Generated by asv_bench/ratios.py from {origin}; do not edit.\n\n"
            f"{text}\n"
            if args.format == "rst"
            else f"{origin}\n\n{text}\n"
        )
        print(f"wrote {args.output}")
        return 0
    print(origin)
    print(text)
    if missing:
        print(
            f"\n{missing} peer result(s) have no skrep counterpart yet "
            "(skipped benchmarks; --all lists them)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
