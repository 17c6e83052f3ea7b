"""The README's tour runs as pasted: every ```python block, in order, in one namespace."""
import os
import re
import warnings

import pytest

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def _blocks():
    with open(README) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_readme_has_a_tour():
    assert len(_blocks()) >= 4


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)          # blocks may write files (graph.svg, weights)
    ns = {"__name__": "__readme__"}
    for i, block in enumerate(_blocks()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(block, f"README block {i}", "exec"), ns)
            except Exception as e:  # pragma: no cover - the message is the point
                pytest.fail(f"README python block {i} failed: {type(e).__name__}: {e}\n{block}")
