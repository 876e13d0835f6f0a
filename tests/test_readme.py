import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_shows_the_robust_direction(capsys):
    text = README.read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    exec(compile(code, str(README), "exec"), {})
    lines = dict(
        line.split(" cos to truth: ") for line in capsys.readouterr().out.splitlines()
    )
    assert float(lines["OutlierRobustPCA"]) > 0.95
    assert float(lines["PCA"]) < 0.3


def test_readme_quick_start_commands():
    text = README.read_text()
    assert 'pip install -e ".[test]" && python -m skrep' in text
    assert 'pip install -e ".[test]" && python -m pytest' in text
