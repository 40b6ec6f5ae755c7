"""`gennet demo`: the web page and its endpoints on a tiny trained VAE and a tiny conditional GAN.

The server runs in a thread on a free port and is driven with urllib (and http.client, for paths
urllib would tidy up); one test runs `gennet demo` as a user does and stops it with Ctrl-C; the last
tests load the page in headless Chromium (skipped where it is not installed, except under CI).
Set GENNET_DEMO_SCREENSHOT=path.png to keep the browser test's screenshot.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gennet import api
from gennet.cli import main
from gennet.data.synthetic import SHAPES_CLASSES
from gennet.demo import Demo, DemoServer
from gennet.demo.actions import png_data_url
from gennet.demo.uploads import MAX_UPLOAD_BYTES

SRC = Path(__file__).resolve().parents[1] / "src"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never via a proxy
EVAL = {"model": "vae", "fid": 12.3456, "recon_psnr": 17.25, "floor": {"fid": 0.12}, "protocol": {"n": 10}}


# ---- tiny runs and a server per test ---------------------------------------------------------------
@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "vae"
    api.train("vae", out, data="synthetic-shapes", steps=3, batch_size=16, quiet=True, log_every=1,
              hidden=(32,), latent_dim=4)  # fmt: skip
    (out / "eval.json").write_text(json.dumps(EVAL))
    return out


@pytest.fixture(scope="module")
def cgan_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "cgan"
    api.train("cgan", out, data="synthetic-shapes", steps=2, batch_size=16, quiet=True, log_every=1,
              base_channels=8, latent_dim=4)  # fmt: skip
    return out


@contextmanager
def serving(run_dir: Path):
    server = DemoServer(Demo(api.load(run_dir, device="cpu")), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def vae(vae_dir):
    with serving(vae_dir) as server:
        yield server


@pytest.fixture(scope="module")
def cgan(cgan_dir):
    with serving(cgan_dir) as server:
        yield server


def request(server, path: str, data: bytes | None = None, content_type: str = "image/png"):
    """(status, JSON body) of GET path, or of POST path with `data` as the body."""
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with NO_PROXY.open(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def ok(server, path: str, data: bytes | None = None) -> dict:
    status, body = request(server, path, data)
    assert status == 200, body
    return body


def refused(server, path: str, *needles: str, status: int = 400, **kwargs) -> str:
    code, body = request(server, path, **kwargs)
    assert code == status, (path, code, body)
    for needle in needles:
        assert needle in body["error"], (needle, body)
    return body["error"]


def png_of(data_url: str) -> np.ndarray:
    head = "data:image/png;base64,"
    assert data_url.startswith(head), data_url[:60]
    with Image.open(io.BytesIO(base64.b64decode(data_url[len(head) :], validate=True))) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def photo(width: int, height: int, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(0)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


# ---- the endpoints ---------------------------------------------------------------------------------
def test_sample_is_a_png_that_follows_the_seed(vae):
    first = ok(vae, "/api/sample?seed=3&n=4")
    again = ok(vae, "/api/sample?seed=3&n=4")
    other = ok(vae, "/api/sample?seed=4&n=4")
    assert first["image"] == again["image"] and first["caption"] == "seed 3, 4 images"
    assert png_of(first["image"]).shape == (2 * 18 + 2, 2 * 18 + 2, 3)  # a 2x2 grid of 16x16, 2 px gaps
    assert not np.array_equal(png_of(first["image"]), png_of(other["image"]))
    assert first["image"] == png_data_url(api.sample(vae.demo.run, 4, seed=3))  # what the verb draws


def test_walk_runs_from_one_seed_to_the_other(vae):
    run = vae.demo.run
    path = api.walk(run, 3, 5, steps=4)
    assert path.shape == (4, 1, 16, 16)
    assert np.array_equal(path[0], api.sample(run, 1, seed=3)[0])
    assert np.array_equal(path[-1], api.sample(run, 1, seed=5)[0])
    body = ok(vae, "/api/walk?a=3&b=5&steps=4&method=spherical")
    assert body["image"] == png_data_url(path, nrow=4) and "seeds 3 and 5" in body["caption"]
    real = api.walk(run, 0, 1, steps=3, between="real")  # held-out images 0 and 1, through the encoder
    x, recon = api.reconstruct(run, api.heldout(run, 2).images)
    assert np.array_equal(real[0], recon[0]) and np.array_equal(real[-1], recon[1])


def test_info_shows_only_what_the_model_can_do(vae, cgan):
    info = ok(vae, "/api/info")
    assert info["model"] == "vae" and info["image"] == [1, 16, 16]
    assert info["controls"] == {"sample": True, "truncation": False, "classes": None, "walk": "seeds",
                                "heldout": None, "upload": ["reconstruct", "denoise"]}  # fmt: skip
    assert info["metrics"]["rows"] == [["fid", "12.35", "0.12"], ["recon_psnr", "17.25", ""]]
    assert png_of(info["curves"]).shape[0] > 100  # the loss curves of metrics.jsonl
    c = ok(cgan, "/api/info")["controls"]
    assert c["classes"] == SHAPES_CLASSES and c["upload"] == []
    assert c["walk"] == "seeds" and ok(cgan, "/api/info")["metrics"] is None
    refused(cgan, "/api/reconstruct", "cannot reconstruct", data=encoded(photo(16, 16, "L")))


def test_labels_of_a_conditional_model(cgan):
    by_name = ok(cgan, "/api/sample?seed=1&n=2&label=vertical%20bar")
    assert by_name == ok(cgan, "/api/sample?seed=1&n=2&label=1")
    assert "class vertical bar" in by_name["caption"]
    assert by_name["image"] != ok(cgan, "/api/sample?seed=1&n=2&label=2")["image"]
    ok(cgan, "/api/walk?a=1&b=2&steps=3&label=cross")
    refused(cgan, "/api/sample?label=hexagon", "unknown class 'hexagon'", ", ".join(SHAPES_CLASSES))


def test_upload_is_fitted_and_reconstructed(vae):
    body = ok(vae, "/api/reconstruct", encoded(photo(40, 30)))  # RGB and 40x30: made gray, 16x16
    assert png_of(body["image"]).shape == (20, 2 * 18 + 2, 3)  # input | reconstruction
    assert body["caption"] == "input | reconstruction"
    assert body["note"] == "resized from 40x30 to 16x16 (shorter side to fit, centre cropped)"
    same = ok(vae, "/api/denoise", encoded(photo(16, 16, "L"), "JPEG"))
    assert "note" not in same and same["caption"] == "input | denoised"


def test_bad_uploads_are_refused_with_a_message(vae):
    png = encoded(photo(16, 16, "L"))
    refused(vae, "/api/reconstruct", "not a PNG or JPEG image", data=b"GIF89a not really")
    refused(vae, "/api/reconstruct", "the upload is empty", data=b"")
    refused(vae, "/api/reconstruct", "uploaded image", data=png[: len(png) // 2])  # truncated
    assert "/tmp" not in refused(vae, "/api/reconstruct", data=png[: len(png) // 2])  # no temporary path
    refused(vae, "/api/reconstruct", "8.0 MiB", "up to 8 MiB", data=png + bytes(MAX_UPLOAD_BYTES))
    bomb = encoded(Image.new("1", (5000, 4000)))  # 20 M pixels in a few kB
    refused(vae, "/api/reconstruct", "5000x4000 pixels", "scale it down", data=bomb)
    refused(vae, "/api/reconstruct", "send the image file as the body", data=png, content_type="text/plain")
    refused(vae, "/api/reconstruct?direction=AtoB", "unknown parameter 'direction'", data=png)
    refused(vae, "/api/translate", "cannot translate", data=png)
    ok(vae, "/api/reconstruct", png)  # and the server goes on


@pytest.mark.parametrize(
    "query, needles",
    [
        ("seed=abc", ["seed must be a whole number from 0 to 2147483647", "'abc'"]),
        ("seed=-1", ["seed must be"]),
        ("seed=1.5", ["seed must be"]),
        ("n=0", ["n must be a whole number from 1 to 64"]),
        ("n=65", ["n must be a whole number from 1 to 64; got 65"]),
        ("truncation=1.5", ["truncation must be in [-1, 1]; got 1.5"]),
        ("truncation=nan", ["truncation must be in [-1, 1]"]),
        ("truncation=0.7", ["truncation", "cannot style_mix"]),  # the VAE has no styles
        ("label=3", ["not conditional"]),
        ("seed=1&seed=2", ["'seed' is given twice"]),
        ("file=../config.json", ["unknown parameter 'file'"]),
    ],
)
def test_bad_parameters_are_400(vae, query, needles):
    refused(vae, f"/api/sample?{query}", *needles)


def test_walk_parameters(vae):
    refused(vae, "/api/walk?steps=1", "steps must be a whole number from 2 to 16")
    refused(vae, "/api/walk?method=cubic", "method must be one of spherical, linear")


def raw(server, method: str, path: str, host: str | None = None) -> tuple[int, bytes]:
    """A request with `path` sent as it is (no client-side tidying of ../)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_no_file_of_the_run_is_served(vae):
    config = (vae.demo.run.path / "config.json").read_bytes()
    for path in ["/../config.json", "/api/../config.json", "/config.json", "/%2e%2e/config.json",
                 "/model.safetensors", "/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/api/info/../../eval.json",
                 "/checkpoints/last.pt", "/page.html"]:  # fmt: skip
        status, body = raw(vae, "GET", path)
        assert status == 404, (path, status)
        assert config not in body and b"nothing here" in body
    assert raw(vae, "POST", "/api/sample")[0] == 405
    status, body = raw(vae, "GET", "/api/info", host="attacker.example:80")  # DNS rebinding
    assert status == 403 and b"127.0.0.1" in body
    status, page = raw(vae, "GET", "/")
    assert status == 200 and b"<title>gennet demo</title>" in page
    assert re.search(rb"(src|href)=\"(https?:)?//", page) is None  # nothing fetched from outside


def test_a_failing_request_does_not_stop_the_server(vae, monkeypatch, capsys):
    def broken(query):
        raise RuntimeError("a bug")

    monkeypatch.setattr(vae.demo, "sample", broken)
    assert refused(vae, "/api/sample", "internal error (RuntimeError: a bug)", status=500)
    monkeypatch.undo()
    ok(vae, "/api/sample?n=1")
    assert "RuntimeError: a bug" in capsys.readouterr().err  # the traceback, for whoever runs it


def test_cli_serves_until_ctrl_c(vae_dir):
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gennet", "demo", str(vae_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        with NO_PROXY.open(url.group(0) + "api/info", timeout=30) as r:
            assert json.loads(r.read())["model"] == "vae"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_cli_refuses_a_port_in_use(vae_dir, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["demo", str(vae_dir), "--port", str(busy.getsockname()[1])]) == 2
    assert "cannot serve on 127.0.0.1:" in capsys.readouterr().err
    assert main(["demo", str(vae_dir), "--port", "70000"]) == 2
    assert "port must be a whole number from 0 to 65535" in capsys.readouterr().err


# ---- the page in headless Chromium -------------------------------------------------------------------
def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    if exe is None:
        if "CI" in os.environ:
            pytest.fail("CI is set but chromium is not installed (apt-get install -y chromium)")
        pytest.skip("chromium is not installed; set CI to turn this skip into a failure")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-proxy-server",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=20000", *args]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def element(dom: str, element_id: str) -> str:
    """The opening tag of the element with this id in a dumped DOM."""
    found = re.search(rf"<[a-z]+ [^>]*id=\"{element_id}\"[^>]*>", dom)
    assert found, f"no #{element_id} in {dom[:2000]}"
    return found.group(0)


def test_browser_seed_from_the_url_changes_the_image(vae, tmp_path):
    doms = {seed: chromium(tmp_path, "--dump-dom", f"{vae.url}?seed={seed}&n=4").stdout for seed in (7, 8)}
    for seed, dom in doms.items():
        assert '<body data-ready="1">' in dom, dom[-2000:]
        tag = element(dom, "sample-img")
        assert f'data-seed="{seed}"' in tag
        assert f'src="{ok(vae, f"/api/sample?seed={seed}&n=4")["image"]}"' in tag  # the server's image
        assert "hidden" not in element(dom, "upload") and "hidden" in element(dom, "truncation-row")
    assert element(doms[7], "sample-img") != element(doms[8], "sample-img")
    assert "<td>fid</td><td>12.35</td><td>0.12</td>" in doms[7]  # eval.json, as a table

    shot = tmp_path / "demo.png"
    size = ["--window-size=1200,900", "--hide-scrollbars"]
    chromium(tmp_path, f"--screenshot={shot}", *size, f"{vae.url}?seed=7")
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert rgb.shape == (900, 1200, 3)
    assert (rgb.min(axis=2) < 200).mean() > 0.02 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50
    if os.environ.get("GENNET_DEMO_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["GENNET_DEMO_SCREENSHOT"])


def test_browser_shows_errors_and_only_the_controls_of_the_model(cgan, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", f"{cgan.url}?n=1000").stdout
    assert "n must be a whole number from 1 to 64; got 1000" in element(dom, "sample-error") + dom
    assert "hidden" not in element(dom, "sample-error")
    assert "hidden" in element(dom, "upload")  # a GAN takes no uploads
    assert "hidden" not in element(dom, "label-row") and '<option value="3">cross</option>' in dom
    assert "hidden" not in element(dom, "walk-img")  # the walk still ran
