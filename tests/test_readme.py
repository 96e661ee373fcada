"""The README's examples work: the two commands, the config example and the Python API example."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from workbench.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    first = code_blocks("bash")[0]
    assert "bash scripts/setup.sh && python app.py" in first
    assert "bash scripts/test.sh" in first
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_config_example_is_a_valid_config():
    block = next(b for b in code_blocks("yaml") if b.startswith("model:"))
    cfg = RunConfig.from_dict(yaml.safe_load(block))
    cfg.validate()
    assert cfg.method.type == "lora" and cfg.data.max_train_samples == 4000


def test_the_python_api_example_runs(tmp_path, monkeypatch, datasets_dir):
    block = next(b for b in code_blocks("python") if "create_run" in b)
    # The same code on a smaller sample, from a scratch folder where ../shared is not beside it.
    block = block.replace('"../shared/datasets/sst2"', repr(str(datasets_dir / "sst2")))
    block = block.replace('"max_train_samples": 4000', '"max_train_samples": 64, "max_eval_samples": 64')
    assert "max_eval_samples" in block, "the example changed: update this test's substitutions"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "new_texts.csv").write_text("text\na fine and funny film\nnot worth the ticket\n")  # the example's file
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["run"].status()["status"] == "finished"
    assert (tmp_path / "runs").is_dir()
    assert len((tmp_path / "labelled.csv").read_text().splitlines()) == 3
    assert (tmp_path / "my-model" / "model.safetensors").is_file()
