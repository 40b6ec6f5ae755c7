"""How long scoring 10,000 images takes on this machine (run by hand).

    python bench/eval_speed.py [--n 10000] [--data fashion-mnist]

Scores n images (real training images stand in for samples; the cost does not depend on what
the images show) against the data's held-out split with every sample metric, with and without
the real-vs-real floor, and prints the wall time of each part.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from gennet.data import load_dataset
from gennet.eval import feature_metrics as S
from gennet.eval.features import extractor_for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--json")
    a = ap.parse_args()
    train, test = load_dataset(a.data, split="train"), load_dataset(a.data, split="test")
    images = train.images[: a.n].numpy()
    ex, _ = extractor_for(a.data)
    times: dict[str, float] = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        times[name] = round(time.perf_counter() - t0, 3)
        return out

    rf, rp = timed(f"features of the reference ({len(test)})", lambda: ex(test.images.numpy()))
    f, p = timed(f"features of the images ({a.n})", lambda: ex(images))
    timed("fid", lambda: S.fid(f, rf))
    timed("kid (100 subsets of 1000)", lambda: S.kid(f, rf))
    timed("precision/recall (k=3)", lambda: S.precision_recall(rf, f, k=3))
    timed("coverage + classifier score", lambda: (S.mode_coverage(p, rp), S.classifier_score(p)))
    total = sum(times.values()) - times[f"features of the reference ({len(test)})"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {a.data}")
    for k, v in times.items():
        print(f"  {k:40s} {v:8.2f} s")
    print(f"  {'scoring the images (all metrics)':40s} {total:8.2f} s")
    print(f"  {'+ the floor (same cost again)':40s} {2 * total:8.2f} s")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"n": a.n, "data": a.data, "times_s": times, "images_total_s": total}, fh, indent=2)
    assert np.isfinite(f).all()


if __name__ == "__main__":
    main()
