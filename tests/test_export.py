"""`gennet export` / `gennet.export`: the exported ONNX file (run by onnxruntime) and TorchScript
file (run by torch) compute what the eager model computes, at batch sizes 1 and 3, for every family;
they carry no training-only behaviour; their metadata reads back; the CLI writes or refuses clearly.

Tolerances (max absolute difference, pixels in [0, 1]): ONNX 2e-5 (measured at most 6.6e-6, on the
conditional StyleGAN; 6e-7 on CycleGAN, below 1e-7 elsewhere), TorchScript 1e-6 (measured 0: the same
kernels). A sample alone against the same sample in a batch of 3: 1e-5 (kernels for other batch
sizes round differently, up to 2.8e-6 measured; batch statistics would differ by ~0.1).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import gennet
from gennet import api
from gennet.cli import main
from gennet.config import TrainConfig
from gennet.data import load_dataset
from gennet.errors import CapabilityError, ConfigError
from gennet.exporting import build_part, offered
from tests.conftest import tiny_overrides

ONNX_TOL, TS_TOL, BATCH_TOL = 2e-5, 1e-6, 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
DATA = load_dataset("synthetic-shapes", split="train")  # 1x16x16, 4 classes
PAIR = load_dataset("synthetic-rgb-pair", split="train")  # 3x16x16, two domains

# (id, model, overrides, export keywords, parts)
CASES = [
    ("ae-conv", "ae", {"arch": "conv"}, {}, ["decoder", "encoder"]),
    ("sparse-ae", "sparse-ae", {}, {}, ["encoder"]),
    ("denoising-ae", "denoising-ae", {}, {}, ["encoder"]),
    ("vae", "vae", {}, {}, ["decoder", "encoder"]),
    ("dcgan", "dcgan", {}, {}, ["decoder"]),
    ("cgan", "cgan", {}, {}, ["decoder"]),
    ("aae", "aae", {}, {}, ["decoder", "encoder"]),
    ("bigan-conv", "bigan", {"arch": "conv"}, {}, ["encoder"]),
    ("cyclegan", "cyclegan", {}, {}, ["a2b", "b2a"]),
    ("stylegan", "stylegan", {}, {}, ["decoder"]),
    ("stylegan-cond-psi0.6", "stylegan", {"conditional": True}, {"truncation": 0.6}, ["decoder"]),
]
PARAMS = [pytest.param(c, p, id=f"{c[0]}-{p}") for c in CASES for p in c[4]]


def _perturb(model: torch.nn.Module) -> None:
    """Make training-only behaviour visible: batch-norm running statistics unlike any batch's,
    StyleGAN's w_avg away from 0 and its noise inputs switched on."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
        for name, p in model.named_parameters():
            if name.endswith("noise.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        if hasattr(model, "w_avg"):
            model.w_avg.copy_(torch.randn(model.w_avg.shape, generator=g))


def _model(name: str, over: dict):
    data = PAIR if name == "cyclegan" else DATA
    torch.manual_seed(0)
    model = api.build_model(name, data.spec, tiny_overrides(name, **over))
    _perturb(model)
    return model.eval()


class Exported:
    """One part of one model, exported to both formats through `gennet.export`."""

    def __init__(self, case, part: str, folder: Path):
        _, name, over, kwargs, _ = case
        self.model = _model(name, over)
        self.kwargs = kwargs
        self.part = build_part(self.model, part, **kwargs)
        run = api.Run(self.model, TrainConfig(), self.model.spec, folder)
        self.onnx_path = gennet.export(run, folder / f"{part}.onnx", part=part, **kwargs)
        self.ts_path = gennet.export(run, folder / f"{part}.pt", "torchscript", part=part, **kwargs)
        self.session = ort.InferenceSession(str(self.onnx_path), providers=["CPUExecutionProvider"])
        self.script = torch.jit.load(str(self.ts_path))

    def inputs(self, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        out = {}
        for p in self.part.inputs:
            shape = (n, *p.shape[1:])
            if p.name == "labels":
                out[p.name] = torch.randint(0, self.model.num_classes, shape, generator=g)
            elif p.name == "psi":
                out[p.name] = torch.tensor(0.5)
            elif p.name == "z":
                out[p.name] = torch.randn(shape, generator=g)
            else:
                out[p.name] = torch.rand(shape, generator=g)
        return out

    def eager(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's own verbs, in eval mode (the references the files must match)."""
        m, name = self.model, self.part.name
        with torch.no_grad():
            if name == "encoder":
                return m.encode(x["images"])
            if name in ("a2b", "b2a"):
                return m.translate(x["images"], "AtoB" if name == "a2b" else "BtoA")
            if m.can("style_mix"):
                psi = x.get("psi", self.kwargs.get("truncation"))
                ws = m.truncate(m.mapping(x["z"], x.get("labels")), float(psi))
                return m.synthesize(ws, noise="const")
            return m.decode(x["z"], x["labels"]) if "labels" in x else m.decode(x["z"])

    def run_onnx(self, x: dict[str, torch.Tensor]) -> np.ndarray:
        return self.session.run(None, {k: v.numpy() for k, v in x.items()})[0]

    def run_script(self, x: dict[str, torch.Tensor]) -> np.ndarray:
        with torch.no_grad():
            return self.script(*x.values()).numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache: dict[tuple[str, str], Exported] = {}

    def get(case, part):
        key = (case[0], part)
        if key not in cache:
            cache[key] = Exported(case, part, tmp_path_factory.mktemp(f"{case[0]}-{part}"))
        return cache[key]

    return get


@pytest.mark.parametrize("case,part", PARAMS)
def test_files_compute_what_the_model_computes(exported, case, part):
    e = exported(case, part)
    for n in (1, 3):
        x = e.inputs(n, seed=n)
        want = e.eager(x).numpy()
        assert want.shape == (n, *e.part.output.shape[1:])
        if e.part.output.name != "z":
            assert want.min() >= 0 and want.max() <= 1
        assert np.abs(e.run_onnx(x) - want).max() <= ONNX_TOL
        assert np.abs(e.run_script(x) - want).max() <= TS_TOL


@pytest.mark.parametrize("case,part", PARAMS)
def test_a_sample_does_not_depend_on_its_batch(exported, case, part):
    """Eval mode: batch norm uses its running statistics, noise is fixed, nothing is drawn at random:
    each sample's output in a batch of 3 is its output alone (and the same call twice agrees)."""
    e = exported(case, part)
    x = e.inputs(3, seed=7)
    for run in (e.run_onnx, e.run_script):
        batch = run(x)
        np.testing.assert_array_equal(batch, run(x))
        for i in range(3):
            alone = {k: v[i : i + 1] if v.dim() else v for k, v in x.items()}
            assert np.abs(run(alone)[0] - batch[i]).max() <= BATCH_TOL


@pytest.mark.parametrize("case,part", PARAMS[:1] + PARAMS[-3:])
def test_names_dynamic_batch_and_metadata(exported, case, part):
    e = exported(case, part)
    names = [p.name for p in e.part.inputs]
    assert [i.name for i in e.session.get_inputs()] == names
    assert [o.name for o in e.session.get_outputs()] == [e.part.output.name]
    for i, p in zip(e.session.get_inputs(), e.part.inputs, strict=True):
        assert len(i.shape) == len(p.shape) and (not p.shape or isinstance(i.shape[0], str))
    ort_meta = e.session.get_modelmeta().custom_metadata_map
    extra = {"gennet.json": ""}
    torch.jit.load(str(e.ts_path), _extra_files=extra)
    assert json.loads(extra["gennet.json"])["model"] == e.model.name
    for path, fmt in ((e.onnx_path, "onnx"), (e.ts_path, "torchscript")):
        meta = gennet.export_metadata(path)
        assert meta["model"] == e.model.name and meta["part"] == part and meta["format"] == fmt
        assert meta["gennet_version"] == gennet.__version__
        assert re.fullmatch(r"[0-9a-f]{64}", meta["weights_sha256"])
        assert [p["name"] for p in meta["inputs"]] == names
        assert meta["outputs"][0]["shape"][0] == "N"
        assert "[0, 1]" in (meta["outputs"] + meta["inputs"])[0]["description"] or part == "encoder"
        assert ort_meta["weights_sha256"] == meta["weights_sha256"]


def test_parts_carry_only_the_networks_they_run(exported):
    gan, cycle = exported(CASES[4], "decoder"), exported(CASES[8], "a2b")
    assert {k.split(".")[1] for k in gan.script.state_dict()} == {"G"}
    assert {k.split(".")[1] for k in cycle.script.state_dict()} == {"G"}
    assert gan.model.D is not None  # the model itself is untouched (a copy was pruned)


def test_stylegan_psi_is_an_input_or_fixed(exported):
    free, fixed = exported(CASES[9], "decoder"), exported(CASES[10], "decoder")
    x = free.inputs(3)
    at = {psi: free.run_onnx({**x, "psi": torch.tensor(psi)}) for psi in (0.0, 1.0)}
    assert np.abs(at[0.0] - at[0.0][:1]).max() < 1e-5  # psi 0: every z maps to w_avg
    assert np.abs(at[1.0] - at[1.0][:1]).max() > 1e-3  # psi 1: no truncation
    assert [i.name for i in fixed.session.get_inputs()] == ["z", "labels"]
    settings = gennet.export_metadata(fixed.onnx_path)["settings"]
    assert settings["truncation_psi"] == 0.6 and settings["noise"] == "const"
    assert gennet.export_metadata(fixed.onnx_path)["classes"] == ["0", "1", "2", "3"]


def test_offered_parts_and_clear_refusals(exported):
    gan = _model("gan", {})
    assert offered(gan) == ["decoder"] and offered(_model("cyclegan", {})) == ["a2b", "b2a"]
    assert build_part(gan, "generator").name == "decoder"
    with pytest.raises(CapabilityError, match=r"no part 'encoder'.*offers: decoder.*projection"):
        build_part(gan, "encoder")
    with pytest.raises(CapabilityError, match="offers: decoder, encoder; the parts are"):
        build_part(_model("vae", {}), "critic")
    with pytest.raises(CapabilityError, match="truncation"):
        build_part(gan, truncation=0.7)
    with pytest.raises(CapabilityError, match="truncation"):
        build_part(gan, truncation_cutoff=1)  # a cutoff alone is truncation too
    assert build_part(gan, truncation=1.0).settings == {}  # psi 1 is no truncation
    style = _model("stylegan", {})
    with pytest.raises(ConfigError, match="noise"):
        build_part(style, noise="random", truncation_cutoff=999)  # the noise is checked first
    with pytest.raises(ConfigError, match="truncation cutoff must be in 1.."):
        build_part(style, truncation_cutoff=999)
    run = api.Run(gan, TrainConfig(), gan.spec, Path("gan"))
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        gennet.export(run, "g.onnx", "tflite")
    with pytest.raises(ConfigError, match="has the suffix of onnx files"):
        gennet.export(run, "g.onnx", "torchscript")
    with pytest.raises(ConfigError, match="cannot tell the format"):
        gennet.export(run, "g.bin")


def test_value_checks_still_run_in_eager_mode():
    """Only a recorded graph skips the label range check (nn/tracing.recording)."""
    for name in ("cgan", "stylegan"):
        model = _model(name, {"conditional": True} if name == "stylegan" else {})
        with pytest.raises(gennet.GennetError, match="labels must be in 0..3"):
            model.sample(2, labels=torch.tensor([0, 4]))


# ---- the command line, on a trained run --------------------------------------------------------
@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "vae"
    args = ["train", "vae", "--data", "synthetic-shapes", "--steps", "3", "--batch-size", "16"]
    assert main([*args, "--out", str(out), "--quiet", "--set", "hidden=16", "latent_dim=20"]) == 0
    return out


def test_cli_export_writes_the_file(vae_run, tmp_path, capsys):
    assert main(["export", str(vae_run), "-o", str(tmp_path / "vae.onnx")]) == 0
    out = capsys.readouterr().out
    assert "the decoder of 'vae' as onnx" in out and "input  z: latent codes" in out and "(N, 20)" in out
    meta = gennet.export_metadata(tmp_path / "vae.onnx")
    weights = vae_run / meta["weights_file"]
    assert meta["weights_file"] == "model.safetensors"
    assert meta["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert main(["export", str(vae_run), "-o", str(tmp_path / "enc.pt"), "--part", "encoder"]) == 0
    encoder = torch.jit.load(str(tmp_path / "enc.pt"))
    run = api.load(vae_run)
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(encoder(x), run.model.encode(x), atol=TS_TOL)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--part", "a2b"], "no part 'a2b' to export; it offers: decoder, encoder"),
        (["--truncation", "0.7"], "cannot style_mix"),
        (["--format", "torchscript"], "has the suffix of onnx files"),
        (["-o", "{tmp}/file/m.onnx"], "is not a folder this user can write in"),
        (["-o", "{tmp}/m.bin"], "cannot tell the format"),
    ],
)
def test_cli_refusals_exit_2_without_a_traceback(vae_run, tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("a file, not a folder")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = [] if "-o" in args else ["-o", str(tmp_path / "m.onnx")]
    assert main(["export", str(vae_run), *out, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.glob("m.*"))


def test_cli_unknown_format_is_a_usage_error(vae_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["export", str(vae_run), "-o", str(tmp_path / "m.onnx"), "--format", "tflite"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'tflite'" in err and "Traceback" not in err


def test_readme_export_snippet_runs(vae_run, tmp_path, monkeypatch):
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    snippet = text.split("## Export", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(snippet.replace("runs/vae", str(vae_run)), scope)
    assert scope["images"].shape == (8, 1, 16, 16)
    assert 0 <= scope["images"].min() and scope["images"].max() <= 1
