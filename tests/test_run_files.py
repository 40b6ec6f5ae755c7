"""Damaged run directories are clear errors, and nothing changes while one is refused.

Every file a run holds that gennet reads back (config.json, model.safetensors, checkpoints/last.pt)
is damaged in each way a crash, a copy or a mix-up produces: truncated, empty, not JSON or not the
right format, the wrong JSON shape, missing keys, another data shape, another model's weights, a
torch file that is not a gennet checkpoint. Loading the run (`gennet sample`) and resuming it
(`gennet train ... --resume`) must exit with status 2, no traceback, a message naming the culprit
file, and leave the run directory and an earlier output byte-for-byte as they were.
"""

from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import cli, tiny_vae_run


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runfiles") / "vae"
    tiny_vae_run(out)
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_refused(rc: int, err: str, culprit: str) -> None:
    assert rc == 2, err
    assert err.startswith("gennet: error:"), err
    assert "Traceback" not in err
    assert culprit in err, f"{culprit!r} not named in {err!r}"


# ---- the damage ---------------------------------------------------------------------------------
def _edit_config(**changes):
    def damage(path: Path) -> None:
        cfg = json.loads(path.read_text())
        for key, value in changes.items():
            section, _, field = key.partition(".")
            if value is DROP:
                (cfg[section] if field else cfg).pop(field or section)
            elif field:
                cfg[section][field] = value
            else:
                cfg[section] = value
        path.write_text(json.dumps(cfg))

    return damage


DROP = object()


class NotAllowed:  # a class: pickling it makes a checkpoint a safe load refuses
    pass


def _other_model(path: Path) -> None:
    """Weights of the same names, one shape changed (a VAE with another width)."""
    w = load_file(str(path)) if path.suffix == ".safetensors" else None
    if w is None:
        state = torch.load(path, weights_only=True)
        k = next(iter(state["model"]))
        state["model"][k] = torch.zeros(3, 5)
        torch.save(state, path)
        return
    k = next(iter(w))
    w[k] = torch.zeros(3, 5)
    save_file(w, str(path))


def _drop_tensor(path: Path) -> None:
    w = load_file(str(path))
    w.pop(next(iter(w)))
    save_file(w, str(path))


CONFIG = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "not-json": lambda p: p.write_bytes(b"steps: [this is not json"),
    "binary": lambda p: p.write_bytes(bytes(range(256))),
    "latin-1": lambda p: p.write_bytes('{"train": {"data": "caf\xe9"}}'.encode("latin-1")),
    "json-list": lambda p: p.write_text("[1, 2, 3]"),
    "no-model-section": _edit_config(model=DROP),
    "no-data-spec": _edit_config(data_spec=DROP),
    "spec-missing-key": _edit_config(**{"data_spec.height": DROP}),
    "bad-train-value": _edit_config(**{"train.batch_size": -4}),
    "unknown-train-key": _edit_config(**{"train.warp_speed": 9}),
    "unknown-model": _edit_config(**{"train.model": "nosuchnet"}),
    "unknown-model-key": _edit_config(**{"model.warp_speed": 9}),
    "model-section-a-list": _edit_config(model=[1, 2]),
    "another-data-shape": _edit_config(
        data_spec={"channels": 3, "height": 32, "width": 32, "num_classes": 4}
    ),
}
WEIGHTS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:1000]),
    "zero-bytes": lambda p: p.write_bytes(b""),
    "garbage-header": lambda p: p.write_bytes(b"\xff" * 8 + b"{not a header}" * 10),
    "another-model": _other_model,
    "missing-tensor": _drop_tensor,
}
CHECKPOINT = {
    "garbage": lambda p: p.write_bytes(b"not a checkpoint at all"),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "zero-bytes": lambda p: p.write_bytes(b""),
    "torch-dict": lambda p: torch.save({"weights": torch.zeros(3)}, p),
    "torch-tensor": lambda p: torch.save(torch.zeros(3), p),
    "counter": lambda p: torch.save(collections.OrderedDict(step=3), p),
    "bad-step": lambda p: torch.save({**torch.load(p, weights_only=True), "step": "ten"}, p),
    "pickled-class": lambda p: torch.save({"step": 1, "x": NotAllowed()}, p),
    "another-model": _other_model,
}

# (file, damage, command): config.json is read by both; the weights only when loading (a resume
# reads the checkpoint and writes new weights); the checkpoint when resuming, and when loading a
# run whose final weights are missing (a run stopped before its end).
CASES = (
    [("config.json", d, c) for d in CONFIG for c in ("load", "resume")]
    + [("model.safetensors", d, "load") for d in WEIGHTS]
    + [("checkpoints/last.pt", d, c) for d in CHECKPOINT for c in ("load", "resume")]
)
DAMAGE = {"config.json": CONFIG, "model.safetensors": WEIGHTS, "checkpoints/last.pt": CHECKPOINT}


@pytest.mark.parametrize(("file", "damage", "command"), CASES, ids=["-".join(c) for c in CASES])
def test_a_damaged_run_file_is_refused_and_nothing_changes(run, tmp_path, capsys, file, damage, command):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    if file == "checkpoints/last.pt" and command == "load":
        (copy / "model.safetensors").unlink()  # loading falls back to the checkpoint
    DAMAGE[file][damage](copy / file)
    earlier = tmp_path / "earlier.png"
    earlier.write_bytes(b"an earlier output, kept")
    before, kept = snapshot(copy), earlier.read_bytes()
    if command == "load":
        rc, err = cli(capsys, "sample", copy, "-n", "4", "-o", earlier)
    else:
        rc, err = cli(capsys, "train", "vae", "--out", copy, "--steps", "20", "--quiet", "--resume")
    culprit = file
    if damage == "another-data-shape":  # loading: the weights do not fit; resuming: the data does not
        culprit = "model.safetensors" if command == "load" else "config.json"
    assert_refused(rc, err, str(copy / culprit))
    assert snapshot(copy) == before
    assert earlier.read_bytes() == kept


def test_a_config_json_describing_another_shape_names_both_files(run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    CONFIG["another-data-shape"](copy / "config.json")
    rc, err = cli(capsys, "sample", copy, "-n", "4", "-o", tmp_path / "s.png")
    assert_refused(rc, err, "model.safetensors")
    assert "config.json" in err and "(16, 256)" in err  # what the file holds, what the config needs


def test_a_resume_removes_stale_temporary_files_and_a_torn_metrics_row(run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    stale = [
        copy / "checkpoints" / "last.pt.1a2b3c4d.tmp",
        copy / "config.json.tmp",
        copy / "samples" / "step-0000010.png.9f8e7d6c.tmp",
    ]
    mine = copy / "notes.tmp"  # not gennet's: kept
    for p in [*stale, mine]:
        p.write_bytes(b"half of a file a kill left")
    with open(copy / "metrics.jsonl", "a") as f:
        f.write('{"step": 11, "vae/lo')  # a row torn by a kill
    rc, err = cli(capsys, "train", "vae", "--out", copy, "--steps", "12", "--quiet", "--resume")
    assert rc == 0, err
    assert not any(p.exists() for p in stale)
    assert list(copy.rglob("*.tmp")) == [mine]
    steps = [json.loads(r)["step"] for r in (copy / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 12]
    assert torch.load(copy / "checkpoints" / "last.pt", weights_only=True)["step"] == 12


def test_a_resume_reads_config_json_once_and_a_load_builds_its_configs_once(run, tmp_path, monkeypatch):
    """The one validated read (`read_run_config`) serves the whole resume (the settings, then the
    check of the data); loading a run builds its TrainConfig there and its model Config once."""
    import gennet
    import gennet.config
    from gennet.config import TrainConfig

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    reads: collections.Counter = collections.Counter()
    read_bytes = Path.read_bytes

    def counting_read(self):
        reads[self.name] += 1
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting_read)
    gennet.train("vae", copy, resume=True, steps=12, quiet=True)
    assert reads["config.json"] == 1

    built: collections.Counter = collections.Counter()
    check = gennet.config.check_settings

    def counting_check(obj, what):
        built["train" if isinstance(obj, TrainConfig) else "model"] += 1
        return check(obj, what)

    monkeypatch.setattr(gennet.config, "check_settings", counting_check)
    gennet.load(copy, device="cpu")
    # TrainConfig: read_run_config's; the model Config: the class defaults, then the saved settings
    assert built == {"train": 1, "model": 2}
