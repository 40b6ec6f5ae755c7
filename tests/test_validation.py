"""Numbers a user types are checked before anything is built or written (issue 11, classes 4, 5, 10).

Corpora are generated, not hand-picked: every numeric field of every registered model's config and
of the train config is tried below, above and (floats) NaN/infinite against its declared range,
through the CLI as a user types it; every count a verb takes is tried at 0 and below; every
`--option` and `--set key=` a message in the source names must exist.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import types
import typing
from pathlib import Path

import numpy as np
import pytest

import gennet
from gennet.cli import build_parser, main
from gennet.config import TrainConfig
from gennet.data import DataSpec
from gennet.errors import ConfigError
from gennet.registry import model_entry, model_names
from gennet.validation import Range, check_count, divergence_advice, missing_ranges, numeric_fields
from tests.conftest import tiny_mlp_run

SRC = Path(gennet.__file__).parent


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_refused(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


# ---- every numeric setting has a range, and values outside it are refused ------------------------
CONFIG_CLASSES = {"train": TrainConfig, **{m: model_entry(m)["cls"].Config for m in model_names()}}


@pytest.mark.parametrize("name", sorted(CONFIG_CLASSES))
def test_every_numeric_setting_declares_a_range(name):
    assert missing_ranges(CONFIG_CLASSES[name]) == []


def _is_float(cls, key: str) -> bool:
    return "float" in str(typing.get_type_hints(cls)[key])


def bad_values(cls, key: str) -> list[str]:
    """Values just outside the declared range of `key` (and NaN, inf for floats), as typed."""
    rng: Range = cls.ranges[key]
    real = _is_float(cls, key)
    out = []
    if rng.lo is not None:
        out.append(rng.lo if rng.lo_open else (rng.lo - 0.5 if real else rng.lo - 1))
    if rng.hi is not None:
        out.append(rng.hi if rng.hi_open else (rng.hi + 0.5 if real else rng.hi + 1))
    text = [repr(float(v)) if real else str(int(v)) for v in out]
    if real:
        text += ["nan", "inf", "-inf"]
    if typing.get_origin(typing.get_type_hints(cls)[key]) is dict:
        text = [f"{{8: {t}}}" for t in text if t not in ("nan", "inf", "-inf")]
    return text


SETTING_CASES = [
    (model, key) for model in model_names() for key in numeric_fields(model_entry(model)["cls"].Config)
] + [("vae", key) for key in numeric_fields(TrainConfig)]


@pytest.mark.parametrize("model,key", SETTING_CASES, ids=[f"{m}-{k}" for m, k in SETTING_CASES])
def test_out_of_range_setting_is_refused(capsys, model, key):
    cls = TrainConfig if key in TrainConfig.ranges else model_entry(model)["cls"].Config
    values = bad_values(cls, key)
    assert values, f"{key}: no value outside its range to try"
    for value in values:
        rc, _, err = run_cli(capsys, "config", model, "--set", f"{key}={value}")
        assert_refused(rc, err, key)


@pytest.mark.parametrize(
    "setting", ["latent_dim=0", "latent_dim=-2", "lr=nan", "lr=-0.001", "steps=0", "batch_size=-1"]
)
def test_bad_setting_creates_no_run(tmp_path, capsys, setting):
    out = tmp_path / "run"
    rc, _, err = run_cli(capsys, "train", "vae", "--data", "synthetic-shapes", "--out", out, "--set", setting)
    assert_refused(rc, err, setting.split("=")[0])
    assert not out.exists()


def test_hand_built_config_is_checked_too():
    cls = model_entry("vae")["cls"]
    with pytest.raises(ConfigError, match="latent_dim"):
        cls(dataclasses.replace(cls.Config(), latent_dim=0), DataSpec(1, 16, 16))


def _choices(hint) -> list:
    """The alternatives of a union hint other than None ([] for a plain hint)."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return []
    return [a for a in typing.get_args(hint) if a is not type(None)]


CHOICE_CASES = [
    (name, key)
    for name, cls in CONFIG_CLASSES.items()
    for key, hint in typing.get_type_hints(cls).items()
    if len(_choices(hint)) > 1
]


@pytest.mark.parametrize("name,key", CHOICE_CASES, ids=[f"{n}-{k}" for n, k in CHOICE_CASES])
def test_a_setting_of_several_kinds_names_every_kind_it_takes(capsys, name, key):
    """e.g. channels_last (true, false or auto): the message for a wrong value lists all three."""
    model = "vae" if name == "train" else name
    rc, _, err = run_cli(capsys, "config", model, "--set", f"{key}=not-a-choice")
    assert_refused(rc, err, key, "not-a-choice")
    assert err.count(key) >= len(_choices(typing.get_type_hints(CONFIG_CLASSES[name])[key])), err


def test_channels_last_refusal_names_auto_too(capsys):
    rc, _, err = run_cli(capsys, "config", "dcgan", "--set", "channels_last=maybe")
    assert_refused(rc, err, "true or false", "auto")


# ---- counts a verb takes: one validator for the CLI and the API ----------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_mlp_run(tmp_path_factory.mktemp("validation") / "vae", "vae")


COUNT_CASES = [
    (["sample", "{run}", "-o", "{tmp}/s.png", "-n"], "n"),
    (["reconstruct", "{run}", "-o", "{tmp}/r.png", "-n"], "n"),
    (["denoise", "{run}", "-o", "{tmp}/d.png", "-n"], "n"),
    (["interpolate", "{run}", "-o", "{tmp}/i.png", "--pairs"], "pairs"),
    (["interpolate", "{run}", "-o", "{tmp}/i.png", "--steps"], "steps"),
    (["evaluate", "{run}", "--n"], "n"),
    (["evaluate", "{run}", "--k"], "k"),
    (["evaluate", "{run}", "--ppl-samples"], "ppl_samples"),
    (["arithmetic", "{run}", "-o", "{tmp}/a.png", "--per-class"], "per_class"),
    (["arithmetic", "{run}", "-o", "{tmp}/a.png", "--search"], "search"),
    (["bench", "--out", "{tmp}/b", "--n"], "n"),
    (["bench", "--out", "{tmp}/b", "--budget"], "budget"),
    (["sample", "{run}", "-o", "{tmp}/s.png", "--threads"], "--threads"),
]


@pytest.mark.parametrize("args,key", COUNT_CASES, ids=[f"{a[0]}-{k}" for a, k in COUNT_CASES])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_bad_count_is_refused(run_dir, tmp_path, capsys, args, key, value):
    argv = [a.format(run=run_dir, tmp=tmp_path) for a in args] + [value]
    rc, _, err = run_cli(capsys, *argv)
    assert_refused(rc, err, key)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [2.5, True, "3", None, 0, -1, float("nan")])
@pytest.mark.parametrize(
    "call",
    [
        lambda run, v: gennet.sample(run, n=v),
        lambda run, v: gennet.reconstruct(run, n=v),
        lambda run, v: gennet.interpolate(run, pairs=v),
        lambda run, v: gennet.evaluate(run, k=v),
    ],
    ids=["sample-n", "reconstruct-n", "interpolate-pairs", "evaluate-k"],
)
def test_api_refuses_bad_counts(run_dir, call, value):
    run = gennet.load(run_dir)
    with pytest.raises(ConfigError, match="whole number"):
        call(run, value)


def test_count_accepts_numpy_integers():
    assert check_count("n", np.int64(3)) == 3


def test_huge_requests_are_refused_before_work(run_dir, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", run_dir, "-n", 10**9, "-o", tmp_path / "s.png")
    assert_refused(rc, err, "-n=1000000000", ".png grid", "at most")
    rc, _, err = run_cli(capsys, "sample", run_dir, "-n", 10**13, "-o", tmp_path / "s.npz")
    assert_refused(rc, err, "n=10000000000000", "GB", "ask for fewer")
    assert list(tmp_path.iterdir()) == []


def test_sample_in_batches_matches_labels_and_count(run_dir):
    images = gennet.sample(run_dir, n=1001, seed=3)
    assert images.shape == (1001, 1, 16, 16) and images.dtype == np.uint8
    assert np.array_equal(gennet.sample(run_dir, n=5, seed=3), gennet.sample(run_dir, n=5, seed=3))


# ---- hints name options and keys that exist -------------------------------------------------------
OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9_-]*)")
SET_KEY = re.compile(r"--set\s+([A-Za-z_][\w.]*)=")
ADD_ARGUMENT = re.compile(r"add_argument\(\s*\"--([\w-]+)\"")
OTHER_PROGRAMS = {"nproc_per_node"}  # torchrun's, in the CLI's examples


def _parser_options(parser) -> set[str]:
    found = {s[2:] for s in parser._option_string_actions if s.startswith("--")}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _parser_options(sub)
    return found


def _message_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings excepted (f-strings: their literal parts)."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_hints_name_options_and_keys_that_exist():
    options = _parser_options(build_parser()) | OTHER_PROGRAMS
    keys = {f.name for cls in CONFIG_CLASSES.values() for f in dataclasses.fields(cls)} | {"key"}
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        # a module with its own parser (python -m gennet.eval.train_features) may name its options
        own = set(ADD_ARGUMENT.findall(text)) if "ArgumentParser(" in text else set()
        for s in _message_strings(path):
            wrong += [f"{path.name}: --{o}" for o in OPTION.findall(s) if o not in options | own]
            wrong += [f"{path.name}: --set {k}=" for k in SET_KEY.findall(s) if k not in keys]
    assert wrong == []


@pytest.mark.parametrize("model", ["gan", "aae", "vae", "cyclegan", "stylegan"])
def test_divergence_advice_names_the_models_learning_rates(model):
    cfg = model_entry(model)["cls"].Config()
    advice = divergence_advice(cfg, "fp32")
    keys = re.findall(r"--set (\w+)=", advice)
    assert keys and all(k in {f.name for f in dataclasses.fields(cfg)} for k in keys)
    assert ("lr_g" in keys) == (model in ("gan", "stylegan"))


# ---- defaults a user can live with ------------------------------------------------------------------
def test_cyclegan_defaults_to_the_papers_batch_of_one():
    assert gennet.resolve_config("cyclegan")[0].batch_size == 1
    assert gennet.resolve_config("cyclegan", batch_size=8)[0].batch_size == 8  # what is given wins
    assert gennet.resolve_config("vae")[0].batch_size == 128


def test_threads_default_to_the_cores_this_process_may_use(monkeypatch):
    import os

    import torch

    from gennet import threads

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert threads.default_threads() == cores
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(2 * cores))  # torchrun: more processes than cores
    assert threads.default_threads() == 1
    before = torch.get_num_threads()
    try:
        assert threads.use_threads(1) == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert threads.use_threads(None) == torch.get_num_threads()  # the user's OMP_NUM_THREADS stands
    finally:
        torch.set_num_threads(before)
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    assert "--threads" in sub.format_help() and "cores" in sub.format_help()


def test_trainer_checks_a_hand_built_train_config(tmp_path):
    from gennet.train import Trainer

    cfg = dataclasses.replace(TrainConfig(), steps=0)
    with pytest.raises(ConfigError, match="steps"):
        Trainer(None, None, cfg, tmp_path / "run", None)
    assert not (tmp_path / "run").exists()
