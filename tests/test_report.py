import base64
import io
import json
import os
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gennet.viz import save_grid
from gennet.viz.report import FLOOR_LABEL, fmt_mean_std, fmt_number, write_report

MAGENTA = (255, 0, 255)
CYAN = (0, 255, 255)


def _solid(rgb, n=16, size=8) -> np.ndarray:
    """n images (n, 3, size, size) of one pure colour, uint8."""
    return np.broadcast_to(np.array(rgb, np.uint8)[None, :, None, None], (n, 3, size, size)).copy()


def _fake_results(root: Path) -> dict:
    """A bench result with three models: vae (everything), ae (no sample metrics), gan (failed)."""
    save_grid(_solid(MAGENTA), root / "runs/bench/vae/bench_samples.png")
    save_grid(_solid(CYAN, n=4), root / "runs/bench/vae/bench_curves.png")
    save_grid(np.full((4, 1, 8, 8), 0.3, np.float32), root / "runs/bench/ae/bench_samples.png")
    return {
        "title": "gennet benchmark — mnist <test> & co",
        "created": "2026-11-28T13:00:00Z",
        "command": "gennet bench --models vae ae gan --data mnist --budget 60",
        "protocol": {
            "dataset": "mnist",
            "reference": "test split (1000 images)",
            "n": 1000,
            "seed": 0,
            "extractor": "mnist",
            "extractor_sha256": "ab12cd34" * 8,
            "extractor_test_accuracy": 0.991,
            "extractor_reason": "trained on mnist: the data being scored",
            "budget_seconds": 60,
        },
        "floor": {
            "fid": 1.2345,
            "kid": 0.0001,
            "kid_std": 0.0002,
            "precision": 0.8,
            "recall": 0.79,
            "classes_covered": 10,
            "num_classes": 10,
            "class_kl": 0.001,
            "classifier_score": 9.1,
        },
        "models": [
            {
                "name": "vae",
                "run_dir": "runs/bench/vae",
                "steps": 4000,
                "train_seconds": 59.83,
                "metrics": {
                    "fid": 20.5,
                    "kid": 0.0123,
                    "kid_std": 0.0004,
                    "precision": 0.6,
                    "recall": 0.4,
                    "classes_covered": 9,
                    "num_classes": 10,
                    "class_kl": 0.05,
                    "classifier_score": 8.01234,
                    "recon_mse": 0.01,
                    "recon_psnr": 20.1,
                    "elbo_nats": -100.0,
                    "iw_nll_nats": 95.0,
                    "sharpness": 0.123456,
                },
                "grid_png": "runs/bench/vae/bench_samples.png",
                "curves_png": "runs/bench/vae/bench_curves.png",
                "error": None,
            },
            {
                "name": "ae",
                "run_dir": "runs/bench/ae",
                "steps": 5000,
                "train_seconds": 60.0,
                "metrics": {"recon_mse": 0.008, "recon_psnr": 21.0},
                "grid_png": "runs/bench/ae/bench_samples.png",
                "curves_png": "runs/bench/ae/no_such_file.png",
                "error": None,
            },
            {
                "name": "gan",
                "run_dir": "runs/bench/gan",
                "steps": 12,
                "train_seconds": 3.2,
                "metrics": {},
                "grid_png": None,
                "curves_png": None,
                "error": "TrainingDiverged: loss became NaN at step 12 <&>",
            },
        ],
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    results = _fake_results(root)
    paths = write_report(results, root / "report", base_dir=root)
    return results, paths, root


class _Page(HTMLParser):
    """Collects the metrics table (header, body rows with attributes and cell texts) and every tag's attrs."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.header: list[str] = []
        self.rows: list[tuple[dict, list[str]]] = []
        self._in_table = self._in_thead = self._in_tbody = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table" and a.get("id") == "metrics":
            self._in_table = True
        elif self._in_table and tag == "thead":
            self._in_thead = True
        elif self._in_table and tag == "tbody":
            self._in_tbody = True
        elif self._in_tbody and tag == "tr":
            self.rows.append((a, []))
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.header if self._in_thead else self.rows[-1][1]).append(text)
            self._cell = None
        elif tag == "thead":
            self._in_thead = False
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _png_from_data_uri(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:80]
    img = Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :], validate=True)))
    img.load()
    assert img.format == "PNG"
    return img


def test_number_formatting():
    assert fmt_number(None) == "—"
    assert fmt_number(4000) == "4000"
    assert fmt_number(20.5) == "20.5"
    assert fmt_number(8.01234) == "8.012"
    assert fmt_number(0.123456) == "0.1235"
    assert fmt_number(-100.0) == "-100"
    assert fmt_number(12345.67) == "12346"
    assert fmt_number(0.00001234) == "1.23e-05"
    assert fmt_number(0.0) == "0"
    assert fmt_number(float("nan")) == "nan"
    assert fmt_mean_std(0.0123, 0.0004) == "0.0123 ± 0.0004"
    assert fmt_mean_std(0.02, 0.001) == "0.020 ± 0.001"
    assert fmt_mean_std(0.0001, 0.0) == "0.0001 ± 0"
    assert fmt_mean_std(0.0001, None) == "0.0001"


def test_html_table_rows_and_formatting(report):
    results, paths, _ = report
    assert set(paths) == {"html", "md", "json"} and all(p.is_file() for p in paths.values())
    text = paths["html"].read_text(encoding="utf-8")
    page = _parse(text)
    assert page.header == [
        "model",
        "steps",
        "train s",
        "FID ↓",
        "KID ↓",
        "precision ↑",
        "recall ↑",
        "classes ↑",
        "class KL ↓",
        "classifier score ↑",
        "recon MSE ↓",
        "recon PSNR ↑",
        "ELBO (nats) ↑",
        "IW NLL (nats) ↓",
        "sharpness",
    ]
    (floor_attrs, floor), *model_rows = page.rows
    assert "floor" in floor_attrs.get("class", "") and "data-model" not in floor_attrs
    assert (
        floor
        == [FLOOR_LABEL, "—", "—", "1.234", "0.0001 ± 0.0002", "0.8", "0.79", "10/10"]
        + [
            "0.001",
            "9.1",
        ]
        + ["—"] * 5
    )
    assert [a["data-model"] for a, _ in model_rows] == ["vae", "ae", "gan"]
    vae, ae, gan = (cells for _, cells in model_rows)
    assert vae[:5] == ["vae", "4000", "59.8", "20.5", "0.0123 ± 0.0004"]
    assert vae[5:] == ["0.6", "0.4", "9/10", "0.05", "8.012", "0.01", "20.1", "-100", "95", "0.1235"]
    assert ae == ["ae", "5000", "60.0"] + ["—"] * 7 + ["0.008", "21", "—", "—", "—"]
    assert gan == ["gan (failed)", "12", "3.2"] + ["—"] * 12
    # header, protocol and escaping
    assert "gennet benchmark — mnist &lt;test&gt; &amp; co" in text and "<test>" not in text
    assert "TrainingDiverged: loss became NaN at step 12 &lt;&amp;&gt;" in text
    assert "ab12cd34" * 8 in text and "99.1%" in text and "trained on mnist: the data being scored" in text
    assert "gennet bench --models vae ae gan --data mnist --budget 60" in text
    # legend: directions and the floor explanation
    assert "Lower is better" in text and "Higher is better" in text and "same sample count" in text
    # one section per model, with notes for images that are absent
    for name in ("vae", "ae", "gan"):
        assert f'<section class="model" id="model-{name}">' in text
    assert "no_such_file.png is missing" in text and "No sample grid was recorded" in text


def test_html_is_self_contained(report):
    _, paths, _ = report
    text = paths["html"].read_text(encoding="utf-8")
    lowered = text.lower()
    assert "<script" not in lowered and "javascript:" not in lowered
    assert "<link" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert "http://" not in lowered and "https://" not in lowered
    page = _parse(text)
    for tag, attrs in page.tags:
        for key in ("src", "href", "srcset", "poster", "data", "action"):
            value = attrs.get(key)
            if value is None:
                continue
            assert value.startswith("#") or value.startswith("data:image/png;base64,"), (tag, key, value[:80])
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    imgs = [a for tag, a in page.tags if tag == "img"]
    assert [(a["class"], a["alt"]) for a in imgs] == [
        ("samples", "vae samples"),
        ("curves", "vae curves"),
        ("samples", "ae samples"),
    ]
    decoded = [_png_from_data_uri(a["src"]).convert("RGB") for a in imgs]
    assert MAGENTA in {c for _, c in decoded[0].getcolors(1 << 16)}
    assert CYAN in {c for _, c in decoded[1].getcolors(1 << 16)}
    assert "image-rendering: pixelated" in text and "system-ui" in text


def test_markdown_and_json(report):
    results, paths, root = report
    md = paths["md"].read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].startswith("| model | steps | train s | FID ↓ | KID ↓ |")
    assert re.fullmatch(r"\|(:?-+:?\|)+", table[1])
    names = [row.split("|")[1].strip() for row in table[2:]]
    assert names == [f"*{FLOOR_LABEL}*", "vae", "ae", "gan (failed)"]
    assert "| 0.0123 ± 0.0004 |" in table[3] and "| 10/10 |" in table[2]
    assert all(row.count("|") == table[0].count("|") for row in table)
    assert "- extractor SHA-256: `" + "ab12cd34" * 8 + "`" in md
    assert "Lower is better" in md and "same sample count" in md
    assert "**Failed:**\n\n~~~\nTrainingDiverged: loss became NaN at step 12 <&>\n~~~\n" in md
    assert md.startswith("# gennet benchmark — mnist \\<test\\> & co\n")
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs == [
        "../runs/bench/vae/bench_samples.png",
        "../runs/bench/vae/bench_curves.png",
        "../runs/bench/ae/bench_samples.png",
    ]
    assert all((paths["md"].parent / ref).is_file() for ref in refs)
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == results


def test_relative_paths_default_to_cwd_and_paths_serialize(tmp_path, monkeypatch):
    results = _fake_results(tmp_path)
    results["models"][0]["grid_png"] = tmp_path / "runs/bench/vae/bench_samples.png"  # a Path, absolute
    monkeypatch.chdir(tmp_path)
    paths = write_report(results, "out")
    text = paths["html"].read_text(encoding="utf-8")
    assert text.count("<img") == 3
    loaded = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert loaded["models"][0]["grid_png"] == str(tmp_path / "runs/bench/vae/bench_samples.png")


# ------------------------------------------------------------------------------------ headless Chromium


def _chromium(args: list[str], profile: Path) -> tuple[subprocess.CompletedProcess, float]:
    exe = shutil.which("chromium")
    if exe is None:
        if "CI" in os.environ:
            pytest.fail("CI is set but chromium is not installed (apt-get install -y chromium)")
        pytest.skip("chromium is not installed; set CI to turn this skip into a failure")
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"chromium timed out after 60 s: {cmd}\nstdout: {exc.stdout!r}\nstderr: {exc.stderr!r}")
    return proc, time.monotonic() - start


def _out(proc: subprocess.CompletedProcess) -> str:
    return f"rc={proc.returncode}\nstdout (tail): {proc.stdout[-3000:]}\nstderr (tail): {proc.stderr[-3000:]}"


def test_chromium_renders_report_offline(report, tmp_path):
    _, paths, _ = report
    url = paths["html"].resolve().as_uri()

    proc, _ = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert proc.returncode == 0, _out(proc)
    page = _parse(proc.stdout)
    assert page.header[:3] == ["model", "steps", "train s"], _out(proc)
    assert [r[1][0] for r in page.rows] == [FLOOR_LABEL, "vae", "ae", "gan (failed)"], _out(proc)
    assert [a.get("data-model") for a, _ in page.rows] == [None, "vae", "ae", "gan"], _out(proc)
    imgs = [a for tag, a in page.tags if tag == "img"]
    assert len(imgs) == 3 and all(a["src"].startswith("data:image/png;base64,") for a in imgs), _out(proc)

    shot = tmp_path / "shot.png"
    args = [f"--screenshot={shot}", "--window-size=1200,1600", "--hide-scrollbars", url]
    proc, _ = _chromium(args, tmp_path / "profile-shot")
    assert proc.returncode == 0 and shot.is_file(), _out(proc)
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert rgb.shape[:2] == (1600, 1200), (rgb.shape, _out(proc))
    non_white = (rgb.min(axis=2) < 240).mean()
    assert non_white > 0.02, (non_white, _out(proc))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    magenta = int(((r > 220) & (g < 40) & (b > 220)).sum())
    assert magenta > 5000, (magenta, _out(proc))  # the embedded vae sample grid rendered, offline
