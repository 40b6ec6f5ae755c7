"""Subcommands that use a trained run: sample, reconstruct, denoise, encode, interpolate,
style-mix, translate, arithmetic, evaluate. Each loads the run, reads any given images, calls one
`gennet.api` verb and writes or prints what it returns."""

from __future__ import annotations

import argparse
from typing import ClassVar

import numpy as np

from .. import api
from ..errors import GennetError
from ..eval.scoring import ALL_METRICS
from ..io import IMAGE_OUTPUTS, read_images, write_images, write_rows
from ..models.labels import class_names, parse_labels
from ..validation import check_grid
from ..viz import latent_scatter, save_image_npz
from .base import Command, images_out, print_eval, truncation_options


def _load(a: argparse.Namespace) -> tuple[api.Run, np.ndarray | None]:
    """The run named on the command line, and the images of -i/--input (None when not given)."""
    run = api.load(a.run)
    return run, (read_images(a.input, run.spec) if a.input else None)


def _input_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("-i", "--input", help=help)


class Sample(Command):
    name = "sample"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "draw images from a trained model"

    @staticmethod
    def add_arguments(s: argparse.ArgumentParser) -> None:
        s.add_argument("run", help="run directory")
        s.add_argument("-n", type=int, default=64, help="number of images (default 64)")
        images_out(s)
        s.add_argument("--seed", type=int, default=0, help="the same seed gives the same images")
        s.add_argument(
            "--labels", help="class labels for conditional models: one, or comma-separated, one per image"
        )
        truncation_options(s)

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run = api.load(a.run)
        if a.out.lower().endswith(".png"):  # an .npz holds what memory does; a viewable grid less
            check_grid("-n", a.n, run.spec.height, run.spec.width)
        conditional = run.model.can("conditional")
        classes = class_names(run.classes, run.spec.num_classes) if conditional else None
        labels = parse_labels(a.labels, a.n, classes, model=run.model.name)
        imgs = api.sample(
            run,
            a.n,
            seed=a.seed,
            labels=labels,
            truncation=a.truncation,
            truncation_cutoff=a.truncation_cutoff,
        )
        print(f"wrote {write_images(a.out, imgs, labels=None if labels is None else np.array(labels))}")


class Reconstruct(Command):
    name = "reconstruct"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "held-out (or given) images beside their reconstructions"

    @staticmethod
    def add_arguments(r: argparse.ArgumentParser) -> None:
        r.add_argument("run")
        images_out(r)
        _input_option(r, ".npz, image file or folder (default: held-out images)")
        r.add_argument("-n", type=int, default=16, help="how many held-out images (default 16)")

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run, given = _load(a)
        x, y = api.reconstruct(run, given, n=a.n)
        print(f"wrote {write_rows(a.out, [x, y], ['input', 'recon'], images=x, reconstructions=y)}")


class Denoise(Command):
    name = "denoise"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "denoise images; with no input, corrupt held-out images and report PSNR"

    @staticmethod
    def add_arguments(d: argparse.ArgumentParser) -> None:
        d.add_argument("run")
        images_out(d)
        _input_option(d, ".npz, image file or folder of noisy images")
        d.add_argument("-n", type=int, default=16, help="how many held-out images (default 16)")
        d.add_argument(
            "--noise", choices=["gaussian", "salt-pepper", "mask"], help="corruption (default: the model's)"
        )
        d.add_argument("--level", type=float, help="corruption level (default: the model's)")
        d.add_argument("--seed", type=int, default=0)

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run, given = _load(a)
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


class Encode(Command):
    name = "encode"
    outputs: ClassVar[dict] = {"out": (".npz",), "plot": (".png",)}
    help = "latent codes of held-out (or given) images"

    @staticmethod
    def add_arguments(e: argparse.ArgumentParser) -> None:
        e.add_argument("run")
        e.add_argument("-o", "--out", required=True, help="output .npz with `latents` (N, D) and `labels`")
        _input_option(e, ".npz, image file or folder (default: the held-out split)")
        e.add_argument(
            "--plot", help="also write a 2-D scatter coloured by label (PCA if D > 2) to this .png"
        )

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run, given = _load(a)
        z, labels = api.encode(run, given)
        save_image_npz(a.out, latents=z, **({} if labels is None else {"labels": labels}))
        print(f"wrote {a.out}: latents {z.shape}")
        if a.plot:
            print(f"wrote {latent_scatter(z, labels, a.plot, title=f'{run.model.name} latent codes')}")


class Interpolate(Command):
    name = "interpolate"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "walk the latent space between codes (linear and spherical)"

    @staticmethod
    def add_arguments(i: argparse.ArgumentParser) -> None:
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
        i.add_argument(
            "--space",
            choices=["z", "w"],
            default="z",
            help="z: the latent codes (default); w: straight lines between mapped codes (style models)",
        )

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run = api.load(a.run)
        if a.out.lower().endswith(".png"):
            check_grid("--pairs x --steps", 2 * a.pairs * a.steps, run.spec.height, run.spec.width)
        rows, names = api.interpolate(
            run, pairs=a.pairs, steps=a.steps, method=a.method, seed=a.seed, between=a.between, space=a.space
        )
        print(f"wrote {write_rows(a.out, rows, names, images=np.stack(rows))}")


class StyleMix(Command):
    name = "style-mix"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "style mixing grid of a StyleGAN run (the paper's figure 3)"
    description = (
        "Top row: source B images; left column: source A images. Three blocks of rows: A's styles with "
        "B's on the coarse (4-8), middle (16-32) and fine (64 and up) resolutions; at smaller sizes the "
        "available resolutions split into three bands (printed). OUT: .png grid with labelled rows, or "
        ".npz (sources_a, sources_b, and one (rows, cols, C, H, W) array per band)."
    )

    @staticmethod
    def add_arguments(m: argparse.ArgumentParser) -> None:
        m.add_argument("run")
        m.add_argument("-o", "--out", required=True, help="output .png (or .npz)")
        m.add_argument("--rows", type=int, default=5, help="source A images (default 5)")
        m.add_argument("--cols", type=int, default=5, help="source B images (default 5)")
        m.add_argument("--seed", type=int, default=0)
        truncation_options(m)

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        r = api.style_mix(
            api.load(a.run),
            rows=a.rows,
            cols=a.cols,
            seed=a.seed,
            truncation=a.truncation,
            truncation_cutoff=a.truncation_cutoff,
        )
        bands = ", ".join(f"{name} {band['span']}" for name, band in r["bands"].items())
        arrays = {"sources_a": r["sources_a"], "sources_b": r["sources_b"], **r["mixed"]}
        print(f"rows take B's styles at resolutions: {bands}")
        print(f"wrote {write_rows(a.out, r['rows'], r['names'], **arrays)}")


class Translate(Command):
    name = "translate"
    help = "translate images between a CycleGAN run's two domains"
    description = (
        "Translate INPUT (a .png/.jpg, a folder of them, or an .npz with `images`) from domain "
        "A to B (or B to A). With no input, the first -n held-out images of the source domain. OUT: "
        ".png (rows: input, translation, cycle reconstruction), .npz (input/translated/cycled arrays) "
        "or a folder (one PNG per image + grid.png)."
    )

    @staticmethod
    def add_arguments(tr: argparse.ArgumentParser) -> None:
        tr.add_argument("run")
        _input_option(tr, "image, folder or .npz to translate (default: held-out images)")
        tr.add_argument("-o", "--out", required=True, help="output .png, .npz or folder")
        tr.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB")
        tr.add_argument("-n", type=int, default=8, help="held-out images when there is no input (default 8)")

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run = api.load(a.run)
        run.model.require("translate")
        print(f"wrote {api.translate_to(run, a.out, inputs=a.input, direction=a.direction, n=a.n)}")


class Arithmetic(Command):
    name = "arithmetic"
    outputs: ClassVar[dict] = {"out": IMAGE_OUTPUTS}
    help = "latent vector arithmetic over class-mean codes: a - b + c (the DCGAN paper's demo)"
    description = (
        "Decode mean z(a) - mean z(b) + mean z(c). Codes come from the encoder on held-out "
        "images where the model has one, else from samples classified by the shipped feature network. "
        "Writes rows: exemplars of a, b, c with their class mean (last), then the result and "
        "perturbed copies."
    )

    @staticmethod
    def add_arguments(ar: argparse.ArgumentParser) -> None:
        ar.add_argument("run")
        ar.add_argument("-o", "--out", required=True, help="output .png (or .npz)")
        ar.add_argument(
            "--terms",
            nargs=3,
            metavar=("A", "B", "C"),
            help="classes by index or name (default: first three)",
        )
        ar.add_argument("--per-class", type=int, default=3, help="exemplars shown per class (default 3)")
        ar.add_argument(
            "--search", type=int, default=5000, help="samples classified when there is no encoder"
        )
        ar.add_argument("--seed", type=int, default=0)

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        run = api.load(a.run)
        r = api.arithmetic(run, a.terms, per_class=a.per_class, seed=a.seed, search=a.search)
        print(f"codes: {r['source']}; per class: {r['codes_per_class']}")
        if "result_classified_as" in r:
            print(f"{r['names'][-1]} decodes to images classified as: {', '.join(r['result_classified_as'])}")
        print(f"wrote {write_rows(a.out, r['rows'], r['names'], images=np.stack(r['rows']))}")


class Evaluate(Command):
    name = "evaluate"
    outputs: ClassVar[dict] = {"json": None}
    help = "every metric the model supports, beside the real-vs-real floor"
    description = (
        "Score a run on its held-out split: reconstruction, ELBO/NLL, and for "
        "models that sample FID, KID, precision/recall, mode coverage and the classifier score "
        "in the shipped feature network's space, each beside the real-vs-real floor. "
        "With --images, score any .npz of images against --data instead."
    )

    @staticmethod
    def add_arguments(v: argparse.ArgumentParser) -> None:
        v.add_argument("run", nargs="?", help="run directory (or use --images)")
        v.add_argument(
            "--images", help=".npz with `images` (N, C, H, W) to score, e.g. another library's output"
        )
        v.add_argument("--data", default="mnist", help="reference dataset for --images (default mnist)")
        v.add_argument("--data-dir", help="folder with the dataset's files (for --images)")
        v.add_argument(
            "--n", type=int, help="number of samples / held-out images (default: the held-out split)"
        )
        v.add_argument("--metrics", nargs="+", choices=list(ALL_METRICS), help="sample metrics (default all)")
        v.add_argument(
            "--k", type=int, default=100, help="importance samples for the NLL estimate (default 100)"
        )
        v.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor")
        v.add_argument(
            "--ppl-samples",
            type=int,
            default=2000,
            help="paths behind the perceptual path length (style models)",
        )
        v.add_argument("--seed", type=int, default=0)
        v.add_argument("--json", help="also write the results to this JSON file")
        v.add_argument(
            "--no-track", action="store_true", help="do not log the results to the trackers the run names"
        )

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        floor = not a.no_floor
        if a.images:
            images = read_images(a.images, None)
            res = api.evaluate_images(
                images, a.data, data_dir=a.data_dir, metrics=a.metrics, floor=floor, seed=a.seed
            )
        elif a.run:
            res = api.evaluate(
                api.load(a.run),
                n=a.n,
                k=a.k,
                seed=a.seed,
                metrics=a.metrics,
                floor=floor,
                ppl_samples=a.ppl_samples,
                track=not a.no_track,
            )
        else:
            raise GennetError("evaluate needs a run directory or --images FILE.npz")
        print_eval(res, a.json)
