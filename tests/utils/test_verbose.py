import re

from skrep.utils._verbose import Progress, format_progress

# [Name] unit i[/total]: key=value, ..., 0.00s
LINE = re.compile(r"^\[(\w+)\] (\w+) (\d+)(?:/(\d+))?: (\w+=[^,]+, )*\d+\.\d\ds$")


def test_format_progress_is_one_parsable_line():
    line = format_progress("X", "iter", 3, 10, 1.2345, objective=1 / 3, n=4)
    assert line == "[X] iter 3/10: objective=0.3333333, n=4, 1.23s"
    assert LINE.match(line)
    assert format_progress("X", "round", 2, kind="dpp") == "[X] round 2: kind=dpp"


def test_progress_prints_only_when_verbose(capsys):
    Progress("X", 0)(1, objective=1.0)
    assert capsys.readouterr().out == ""
    progress = Progress("X", 2, unit="lambda", total=5)
    assert progress
    progress(1, objective=1.0)
    progress(2, objective=0.5)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).group(3) for line in lines] == ["1", "2"]
    assert all(line.startswith("[X] lambda ") for line in lines)
