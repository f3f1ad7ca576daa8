"""The README's Python snippets run verbatim, in a folder laid out as the main job leaves it
(``hub/<task>`` dataset repos and ``quickstart/parity-laptop16-inductive-tiny``), here built
at the tiny scale with a 20-step run instead of the 10-minute job. Snippets that need an
optional extra that is not installed are skipped, by name."""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
OPTIONAL = ("trl", "peft", "lm_eval")


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def main_job_layout(tmp_path_factory):
    from hf_reasoning import train
    from hf_reasoning.hub import write_repos

    root = tmp_path_factory.mktemp("readme")
    write_repos(["parity"], root / "hub", scale="tiny", seed=0, configs=["laptop16-inductive", "laptop16-plain"])
    run = root / "quickstart" / "parity-laptop16-inductive-tiny"
    train.main(["--dataset", str(root / "hub" / "parity"), "--config", "laptop16-inductive", "--model", "tiny",
                "--out", str(run), "--max_steps", "20", "--eval_every", "20", "--checkpoint_every", "20",
                "--eval_max_examples", "8"])
    return root


def test_the_readme_has_python_snippets():
    assert len(python_snippets()) >= 2


@pytest.mark.parametrize("index", range(len(python_snippets())))
def test_readme_snippet_runs_verbatim(main_job_layout, index, tmp_path):
    code = python_snippets()[index]
    for extra in OPTIONAL:
        if re.search(rf"^\s*(from|import) {extra}\b", code, flags=re.M) and importlib.util.find_spec(extra) is None:
            pytest.skip(f"needs the optional extra {extra!r}")
    script = tmp_path / f"snippet_{index}.py"
    script.write_text(code)
    cwd = os.getcwd()
    os.chdir(main_job_layout)
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        os.chdir(cwd)
