"""The README's set-up commands are what CI runs, and its configs load."""

from pathlib import Path

import pytest

from gennet import api

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_the_two_set_up_commands():
    main, tests = _readme_commands()
    assert "gennet train vae" in main and "pip install" in main
    assert "pytest" in tests and "pip install" in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci  # the same line, verbatim
    assert any(line.startswith("rm -rf .venv") for line in ci)  # from a fresh virtual environment


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_resolve(path):
    tcfg, mcfg = api.resolve_config(config_file=str(path))
    assert tcfg.model in api.list_models()
    assert tcfg.steps > 0 and mcfg is not None
