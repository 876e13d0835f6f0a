"""``python -m skrep``: the tour of every estimator on real, bundled data."""

import argparse
import sys
from pathlib import Path

from skrep import _tour


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skrep",
        description=(
            "Run every skrep estimator on a real data set shipped with "
            "scikit-learn or statsmodels (nothing is downloaded), next to a "
            "baseline, print a table of metrics and times and write figures."
        ),
    )
    parser.add_argument(
        "--list", action="store_true", help="list the tour entries and exit"
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this entry or estimator (repeatable)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="skrep-tour",
        help="folder for figures and tour.csv (default: ./skrep-tour)",
    )
    args = parser.parse_args(argv)

    entries = _tour.load_entries()
    if args.list:
        if not entries:
            print("No tour entries: no estimator is public yet.")
        for entry in entries:
            label = entry.name
            if entry.estimator != entry.name:
                label += f" ({entry.estimator})"
            print(_tour._clip(f"{label:28s} {entry.dataset}"))
        return 0
    if args.only:
        known = {e.name for e in entries} | {e.estimator for e in entries}
        unknown = sorted(set(args.only) - known)
        if unknown:
            parser.error(
                f"unknown tour entry {', '.join(unknown)}; "
                f"choose from {', '.join(sorted(known)) or 'nothing (none yet)'}"
            )
        entries = [e for e in entries if {e.name, e.estimator} & set(args.only)]
    if not entries:
        print("No tour entries: no estimator is public yet.")
        return 0

    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot use --out {args.out}: {exc.strerror or exc}")
    table, failures = _tour.run(entries, args.out)
    print(_tour.format_table(table))
    print(f"\nFigures and tour.csv (whole descriptions) are in {args.out}/")
    if failures:
        print(f"{len(failures)} entries failed: {', '.join(n for n, _ in failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
