import subprocess
import sys

import pandas as pd
import pytest

from skrep import _tour
from skrep.__main__ import main


def test_list_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "skrep", "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = result.stdout
    for entry in _tour.load_entries():
        assert entry.name in listed


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--only" in capsys.readouterr().out


def test_unknown_entry_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--only", "NoSuchEstimator"])
    assert exc.value.code == 2
    assert "unknown tour entry NoSuchEstimator" in capsys.readouterr().err


def _ok(out_dir):
    path = out_dir / "ok.txt"
    path.write_text("figure")
    return _tour.TourResult(
        "accuracy (higher is better)", 0.9, 0.1, "base", 0.8, 0.2, (path,)
    )


def _broken(out_dir):
    raise RuntimeError("boom")


def test_run_collects_results_and_failures(tmp_path):
    entries = [
        _tour.TourEntry("Ok", "Ok", "toy", _ok),
        _tour.TourEntry("Broken", "Broken", "toy", _broken),
    ]
    lines = []
    table, failures = _tour.run(entries, tmp_path / "out", log=lines.append)
    assert list(table["estimator"]) == ["Ok"]
    assert table.loc[0, "skrep"] == 0.9
    assert table.loc[0, "figures"] == "ok.txt"
    assert [name for name, _ in failures] == ["Broken"]
    assert any("FAILED" in line for line in lines)
    saved = pd.read_csv(tmp_path / "out" / "tour.csv")
    assert list(saved["baseline"]) == ["base"]


def test_register_rejects_duplicates():
    def first(out_dir):
        return None

    def second(out_dir):
        return None

    _tour.register(estimator="DupTest", dataset="toy")(first)
    try:
        with pytest.raises(ValueError, match="registered twice"):
            _tour.register(estimator="DupTest", dataset="toy")(second)
    finally:
        del _tour._REGISTRY["DupTest"]
