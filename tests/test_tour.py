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


def _verbose(out_dir):
    return _tour.TourResult(
        "median excess risk of a cubic fit on 20 of 442 labels, relative to all "
        "labels (lower is better)",
        1.98412e-08,
        12.5,
        "scikit-learn GaussianMixture(covariance_type='full', n_init=1) + chi2",
        0.2,
        1.0,
    )


def test_progress_and_table_fit_a_terminal(tmp_path):
    name = "AVeryLongEstimatorNameThatGoesOnAndOn"
    entries = [_tour.TourEntry(name, name, "a data set " * 12, _verbose)]
    lines = []
    table, _ = _tour.run(entries, tmp_path, log=lines.append)
    text = _tour.format_table(table)
    lines += text.splitlines()
    assert max(map(len, lines)) <= _tour.WIDTH
    assert "v median excess" in text  # the direction survives the cut
    assert " 1.98e-08 " in text  # numbers are rounded to fit, never cut
    # tour.csv keeps the whole texts.
    saved = pd.read_csv(tmp_path / "tour.csv")
    assert saved.loc[0, "metric"].endswith("(lower is better)")
    assert saved.loc[0, "baseline"].endswith("+ chi2")


def test_list_fits_a_terminal(capsys):
    assert main(["--list"]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= _tour.WIDTH


def test_unusable_out_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["--only", "RobustPCA", "--out", str(blocker / "tour")])
    assert exc.value.code == 2
    assert f"cannot use --out {blocker / 'tour'}" in capsys.readouterr().err


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_save_figure_writes_the_image_and_closes_the_figure(tmp_path, layout):
    plt = _tour.pyplot()
    fig, ax = plt.subplots(layout=layout)
    ax.set_title("a title")
    path = _tour.save_figure(fig, tmp_path / "figure.png", dpi=50)
    assert path == tmp_path / "figure.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
