"""`gennet` command line: parses arguments, calls `gennet.api`, prints. No logic of its own."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__

EPILOG = """examples:
  gennet train vae --steps 5000 --out runs/vae         # the MLP VAE (784-400-20) on embedded MNIST
  gennet train ae --set arch=conv latent_dim=16        # a convolutional autoencoder
  gennet train vae --config configs/vae-pytorch-example.yaml
  gennet train vae --out runs/vae --steps 8000 --resume   # continue a run
  gennet sample runs/vae -n 64 -o samples.png
  gennet evaluate runs/vae --json metrics.json
  gennet train dcgan --steps 3000 --out runs/dcgan        # also gan, wgan, wgan-gp, cgan, aae, bigan
  gennet sample runs/cgan -n 20 --labels 3 -o threes.png  # a conditional model draws the class asked
  gennet arithmetic runs/aae --terms 7 1 3 -o arith.png   # mean z(7) - mean z(1) + mean z(3)
  gennet train cyclegan --data mnist-thick --batch-size 8 --set base_channels=16 n_blocks=3
  gennet translate runs/cyclegan -o grid.png               # held-out A: input / translation / cycle
  gennet config vae > my.yaml                          # every setting, to edit and pass to --config
  torchrun --nproc_per_node=2 -m gennet train vae      # data parallel (DDP), batch split across processes
"""


def _images_out(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument(
        "-o",
        "--out",
        required=default is None,
        default=default,
        help="output file: .png (image grid) or .npz (uint8 arrays, shape N,C,H,W)",
    )


def build_parser() -> argparse.ArgumentParser:
    from .eval.scoring import ALL_METRICS
    from .registry import model_names

    ap = argparse.ArgumentParser(
        prog="gennet",
        description="Classic generative networks: train, use and measure them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"gennet {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train",
        help="train a model; writes a run directory",
        description="Train MODEL. Settings not given here come from --config, then defaults; "
        "`gennet list` shows models and datasets. Any TrainConfig field or model field can be set "
        "with --set key=value (e.g. --set latent_dim=2 beta=4 precision=bf16).",
    )
    t.add_argument(
        "model", choices=model_names(), metavar="MODEL", help="one of: " + ", ".join(model_names())
    )
    t.add_argument(
        "--data", help="dataset name (mnist, fashion-mnist, ...) or an image folder (default mnist)"
    )
    t.add_argument("--data-dir", help="folder with full MNIST / Fashion-MNIST IDX files (or set GENNET_DATA)")
    t.add_argument("--steps", type=int, help="training steps (default 5000)")
    t.add_argument("--batch-size", type=int, help="global batch size (default 128)")
    t.add_argument("--seed", type=int, help="random seed (default 0)")
    t.add_argument("--out", help="run directory (default runs/MODEL)")
    t.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default 1000)")
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    t.add_argument("--config", help="JSON/YAML config file (a run's config.json works too)")
    t.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override any train or model setting",
    )
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--strict", action="store_true", help="an unreadable image in a folder is an error")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw images from a trained model")
    s.add_argument("run", help="run directory")
    s.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    _images_out(s)
    s.add_argument("--seed", type=int, default=0, help="the same seed gives the same images")
    s.add_argument(
        "--labels", help="class labels for conditional models: one, or comma-separated, one per image"
    )

    r = sub.add_parser("reconstruct", help="held-out (or given) images beside their reconstructions")
    r.add_argument("run")
    _images_out(r)
    r.add_argument("-i", "--input", help=".npz, image file or folder (default: held-out images)")
    r.add_argument("-n", type=int, default=16, help="how many held-out images (default 16)")

    d = sub.add_parser(
        "denoise", help="denoise images; with no input, corrupt held-out images and report PSNR"
    )
    d.add_argument("run")
    _images_out(d)
    d.add_argument("-i", "--input", help=".npz, image file or folder of noisy images")
    d.add_argument("-n", type=int, default=16, help="how many held-out images (default 16)")
    d.add_argument(
        "--noise", choices=["gaussian", "salt-pepper", "mask"], help="corruption (default: the model's)"
    )
    d.add_argument("--level", type=float, help="corruption level (default: the model's)")
    d.add_argument("--seed", type=int, default=0)

    e = sub.add_parser("encode", help="latent codes of held-out (or given) images")
    e.add_argument("run")
    e.add_argument("-o", "--out", required=True, help="output .npz with `latents` (N, D) and `labels`")
    e.add_argument("-i", "--input", help=".npz, image file or folder (default: the held-out split)")
    e.add_argument("--plot", help="also write a 2-D scatter coloured by label (PCA if D > 2) to this .png")

    i = sub.add_parser("interpolate", help="walk the latent space between codes (linear and spherical)")
    i.add_argument("run")
    i.add_argument("-o", "--out", required=True, help="output .png (or .npz)")
    i.add_argument("--pairs", type=int, default=4, help="number of code pairs (default 4)")
    i.add_argument("--steps", type=int, default=10, help="images per row (default 10)")
    i.add_argument("--method", choices=["linear", "spherical", "both"], default="both")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument(
        "--between",
        choices=["auto", "random", "real"],
        default="auto",
        help="random codes from the prior, or codes of held-out images (needs an encoder); "
        "auto: random when the model samples",
    )

    tr = sub.add_parser(
        "translate",
        help="translate images between a CycleGAN run's two domains",
        description="Translate INPUT (a .png/.jpg, a folder of them, or an .npz with `images`) from domain "
        "A to B (or B to A). With no input, the first -n held-out images of the source domain. OUT: "
        ".png (rows: input, translation, cycle reconstruction), .npz (input/translated/cycled arrays) "
        "or a folder (one PNG per image + grid.png).",
    )
    tr.add_argument("run")
    tr.add_argument("-i", "--input", help="image, folder or .npz to translate (default: held-out images)")
    tr.add_argument("-o", "--out", required=True, help="output .png, .npz or folder")
    tr.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB")
    tr.add_argument("-n", type=int, default=8, help="held-out images when there is no input (default 8)")

    ar = sub.add_parser(
        "arithmetic",
        help="latent vector arithmetic over class-mean codes: a - b + c (the DCGAN paper's demo)",
        description="Decode mean z(a) - mean z(b) + mean z(c). Codes come from the encoder on held-out "
        "images where the model has one, else from samples classified by the shipped feature network. "
        "Writes rows: exemplars of a, b, c with their class mean (last), then the result and "
        "perturbed copies.",
    )
    ar.add_argument("run")
    ar.add_argument("-o", "--out", required=True, help="output .png (or .npz)")
    ar.add_argument(
        "--terms", nargs=3, metavar=("A", "B", "C"), help="classes by index or name (default: first three)"
    )
    ar.add_argument("--per-class", type=int, default=3, help="exemplars shown per class (default 3)")
    ar.add_argument("--search", type=int, default=5000, help="samples classified when there is no encoder")
    ar.add_argument("--seed", type=int, default=0)

    v = sub.add_parser(
        "evaluate",
        help="every metric the model supports, beside the real-vs-real floor",
        description="Score a run on its held-out split: reconstruction, ELBO/NLL, and for "
        "models that sample FID, KID, precision/recall, mode coverage and the classifier score "
        "in the shipped feature network's space, each beside the real-vs-real floor. "
        "With --images, score any .npz of images against --data instead.",
    )
    v.add_argument("run", nargs="?", help="run directory (or use --images)")
    v.add_argument("--images", help=".npz with `images` (N, C, H, W) to score, e.g. another library's output")
    v.add_argument("--data", default="mnist", help="reference dataset for --images (default mnist)")
    v.add_argument("--data-dir", help="folder with the dataset's files (for --images)")
    v.add_argument("--n", type=int, help="number of samples / held-out images (default: the held-out split)")
    v.add_argument("--metrics", nargs="+", choices=list(ALL_METRICS), help="sample metrics (default all)")
    v.add_argument("--k", type=int, default=100, help="importance samples for the NLL estimate (default 100)")
    v.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--json", help="also write the results to this JSON file")

    b = sub.add_parser(
        "bench",
        help="train several models under one budget; table + HTML report",
        description="Train each model for --budget seconds on --data, evaluate each with one "
        "protocol, and write OUT/report.html (opens offline), OUT/results.md and OUT/results.json.",
    )
    b.add_argument("--models", nargs="+", choices=model_names(), metavar="MODEL", help="default: every model")
    b.add_argument("--data", default="mnist")
    b.add_argument("--budget", type=float, default=60.0, help="training seconds per model (default 60)")
    b.add_argument("--n", type=int, help="samples per model for the metrics (default: the held-out split)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--out", default="runs/bench", help="output folder (must be new or empty)")
    b.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="settings applied to every model's training",
    )

    sub.add_parser("list", help="models and datasets")

    c = sub.add_parser("config", help="print a model's full default configuration (a starting --config file)")
    c.add_argument("model", choices=model_names(), metavar="MODEL")
    c.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    return ap


def _labels(text: str | None, n: int, run):
    """--labels "3" or "3,3,4" or class names -> a tensor of n labels; a conditional model given
    none gets 0, 1, ..., K-1, 0, ... so that a .npz always says which class each image is."""
    import torch

    from .errors import GennetError
    from .verbs.generation import _class_index

    if text is None:
        if run.model.can("conditional"):
            return torch.arange(n) % int(run.spec.num_classes)
        return None
    if not run.model.can("conditional"):
        raise GennetError(f"model {run.model.name!r} is not conditional; it takes no --labels")
    classes = run.classes or [str(i) for i in range(int(run.spec.num_classes))]
    vals = [_class_index(v, classes) for v in text.split(",") if v.strip()]
    if len(vals) not in (1, n):
        raise GennetError(f"--labels: give one label or {n} (one per image); got {len(vals)}")
    return torch.tensor(vals * n if len(vals) == 1 else vals)


def _train(a) -> None:
    from . import api
    from .config import parse_set

    settings: dict = parse_set(a.set)
    named = {
        "data": a.data,
        "data_dir": a.data_dir,
        "steps": a.steps,
        "batch_size": a.batch_size,
        "seed": a.seed,
        "checkpoint_every": a.checkpoint_every,
        "device": a.device,
    }
    if a.strict:
        named["strict_data"] = True
    if a.quiet:
        named["quiet"] = True
    settings.update({k: v for k, v in named.items() if v is not None})
    if a.resume and a.config:
        from .errors import ConfigError

        raise ConfigError("--resume continues a run with its own saved config; drop --config")
    run = api.train(a.model, a.out, resume=a.resume, config_file=a.config, **settings)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one report
        print(f"run written to {run}")


def _run(a) -> None:  # noqa: C901 - a flat dispatch table
    from . import api
    from .io import read_images, write_images, write_rows

    cmd = a.command
    if cmd == "list":
        print("models:")
        for k, v in api.list_models().items():
            print(f"  {k:18s} {v}")
        print("datasets:")
        for k, v in api.list_datasets().items():
            print(f"  {k:18s} {v}")
        print(f"  {'DIR':18s} any folder of PNG/JPEG images (subfolders = classes)")
        print(f"  {'DIR':18s} with trainA/ trainB/ (testA/ testB/): unpaired domains for cyclegan")
        return
    if cmd == "train":
        return _train(a)
    if cmd == "config":
        import yaml

        from .config import parse_set, to_jsonable

        tcfg, mcfg = api.resolve_config(a.model, **parse_set(a.set))
        train = {k: v for k, v in to_jsonable(tcfg).items() if k != "model_args"}
        print(yaml.safe_dump({"train": train, "model": to_jsonable(mcfg)}, sort_keys=False), end="")
        return
    if cmd == "bench":
        from .benchmark import bench, command_line
        from .config import parse_set

        res = bench(
            a.models,
            data=a.data,
            budget=a.budget,
            out=a.out,
            n=a.n,
            seed=a.seed,
            settings=parse_set(a.set),
            command=command_line(sys.argv[1:]),
        )
        print((Path(res["paths"]["md"])).read_text())
        print(f"wrote {res['paths']['html']}")
        return
    if cmd == "evaluate" and a.images:
        res = api.evaluate_images(
            read_images(a.images, None),
            a.data,
            data_dir=a.data_dir,
            metrics=a.metrics,
            floor=not a.no_floor,
            seed=a.seed,
        )
        return _print_eval(res, a.json)
    if cmd == "evaluate" and not a.run:
        from .errors import GennetError

        raise GennetError("evaluate needs a run directory or --images FILE.npz")
    run = api.load(a.run)
    if cmd == "translate":
        from .api import translate_to

        run.model.require("translate")
        print(f"wrote {translate_to(run, a.out, inputs=a.input, direction=a.direction, n=a.n)}")
        return
    given = read_images(a.input, run.spec) if getattr(a, "input", None) else None
    if cmd == "sample":
        labels = _labels(a.labels, a.n, run)
        imgs = api.sample(run, a.n, seed=a.seed, labels=labels)
        print(f"wrote {write_images(a.out, imgs, labels=None if labels is None else labels.numpy())}")
    elif cmd == "reconstruct":
        x, y = api.reconstruct(run, given, n=a.n)
        print(f"wrote {write_rows(a.out, [x, y], ['input', 'recon'], images=x, reconstructions=y)}")
    elif cmd == "denoise":
        r = api.denoise(run, given, n=a.n, kind=a.noise, level=a.level, seed=a.seed)
        if given is None:
            rows, names = [r["clean"], r["noisy"], r["denoised"]], ["clean", "noisy", "out"]
            print(
                f"{r['corruption']} corruption at level {r['level']}: PSNR {r['psnr_before']:.2f} dB -> "
                f"{r['psnr_after']:.2f} dB"
            )
        else:
            rows, names = [r["noisy"], r["denoised"]], ["input", "out"]
        arrays = {k: v for k, v in r.items() if k in ("clean", "noisy", "denoised")}
        print(f"wrote {write_rows(a.out, rows, names, **arrays)}")
    elif cmd == "encode":
        _check_suffix(a.out, ".npz")
        if a.plot:
            _check_suffix(a.plot, ".png")
        z, labels = api.encode(run, given)
        _save_npz(a.out, z, labels)
        print(f"wrote {a.out}: latents {z.shape}")
        if a.plot:
            from .viz import latent_scatter

            print(f"wrote {latent_scatter(z, labels, a.plot, title=f'{run.model.name} latent codes')}")
    elif cmd == "interpolate":
        rows, names = api.interpolate(
            run, pairs=a.pairs, steps=a.steps, method=a.method, seed=a.seed, between=a.between
        )
        import numpy as np

        print(f"wrote {write_rows(a.out, rows, names, images=np.stack(rows))}")
    elif cmd == "arithmetic":
        import numpy as np

        r = api.arithmetic(run, a.terms, per_class=a.per_class, seed=a.seed, search=a.search)
        print(f"codes: {r['source']}; per class: {r['codes_per_class']}")
        if "result_classified_as" in r:
            print(f"{r['names'][-1]} decodes to images classified as: {', '.join(r['result_classified_as'])}")
        print(f"wrote {write_rows(a.out, r['rows'], r['names'], images=np.stack(r['rows']))}")
    elif cmd == "evaluate":
        res = api.evaluate(run, n=a.n, k=a.k, seed=a.seed, metrics=a.metrics, floor=not a.no_floor)
        _print_eval(res, a.json)


def _print_eval(res: dict, json_path: str | None) -> None:
    """A metric table: value, and where present the real-data floor and the untranslated baseline."""
    cols = [(k, t) for k, t in (("floor", "real floor"), ("baseline", "untranslated")) if res.get(k)]
    print(f"{'metric':22s} {'value':>12s}" + "".join(f" {t:>12s}" for _, t in cols))

    def cell(v) -> str:
        return f" {v:12.5g}" if isinstance(v, float) else f" {v!s:>12}"

    for key, val in res.items():
        if key in ("protocol", "model") or isinstance(val, dict):
            continue
        extra = "".join(cell(res[c][key]) if key in res[c] else f" {'':>12}" for c, _ in cols)
        print(f"{key:22s}{cell(val)}{extra.rstrip()}")
    print("protocol  " + json.dumps(res["protocol"]))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {json_path}")


def _check_suffix(path: str, suffix: str) -> None:
    from .errors import GennetError

    if Path(path).suffix.lower() != suffix:
        raise GennetError(f"output must end in {suffix}, got {Path(path).name}")


def _save_npz(path: str, z, labels) -> None:
    from .viz import save_image_npz

    arrays = {"latents": z}
    if labels is not None:
        arrays["labels"] = labels
    save_image_npz(path, **arrays)


def main(argv: list[str] | None = None) -> int:
    from .errors import GennetError

    args = build_parser().parse_args(argv)
    try:
        _run(args)
    except GennetError as e:
        print(f"gennet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gennet: interrupted; the last checkpoint is kept (continue with --resume)", file=sys.stderr)
        return 130
    return 0
