"""Retrain a shipped feature network from scratch:

    python -m gennet.eval.train_features --data mnist --epochs 40 --seed 0
    python -m gennet.eval.train_features --data fashion-mnist --epochs 15 --seed 0

Writes weights/<data>.safetensors and weights/<data>.json (data, seed, epochs, test accuracy,
SHA-256). MNIST is the embedded 9,000/1,000 split; Fashion-MNIST the full 60,000/10,000.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save
from tqdm.auto import tqdm

from ..atomic import write_bytes, write_text
from ..data import load_dataset
from .features import WEIGHTS, FeatureNet, sha256_file


def shift_augment(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Random translations by up to max_shift pixels (zero padding): (N, 1, H, W) -> same."""
    n, _, h, w = x.shape
    p = max_shift
    padded = F.pad(x, (p, p, p, p))
    dx = torch.randint(0, 2 * p + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(h)[None])[:, :, None].expand(n, h, w)
    cols = (dx[:, None] + torch.arange(w)[None])[:, None, :].expand(n, h, w)
    idx = torch.arange(n)[:, None, None].expand(n, h, w)
    return padded[idx, 0, rows, cols].unsqueeze(1)


@torch.no_grad()
def accuracy(net: FeatureNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    pred = torch.cat([net(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    net.train()
    return float((pred == y).float().mean())


def train(
    data: str,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    lr: float = 3e-3,
    max_shift: int = 2,
    flip: bool = False,
    widths=(32, 64, 128),
) -> tuple[FeatureNet, dict]:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    tr, te = load_dataset(data, split="train"), load_dataset(data, split="test")
    x, y = tr.images.float() / 255, tr.labels
    xt, yt = te.images.float() / 255, te.labels
    net = FeatureNet(num_classes=len(tr.classes), widths=widths).to(memory_format=torch.channels_last)
    steps = epochs * (len(x) // batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.time()
    bar = tqdm(total=steps, desc=f"feature net on {data}")
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(len(x) // batch_size):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            xb = shift_augment(x[idx], max_shift, g) if max_shift else x[idx]
            if flip:
                xb = torch.where(torch.rand(len(xb), 1, 1, 1, generator=g) < 0.5, xb.flip(-1), xb)
            loss = F.cross_entropy(net(xb), y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", test_acc=f"{accuracy(net, xt, yt):.4f}")
    bar.close()
    info = {
        "data": data,
        "train_images": len(x),
        "test_images": len(xt),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "lr": lr,
        "augment": {"max_shift": max_shift, "hflip": flip},
        "widths": list(widths),
        "num_classes": len(tr.classes),
        "classes": tr.classes,
        "test_accuracy": round(accuracy(net, xt, yt), 5),
        "seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    return net.eval(), info


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, choices=["mnist", "fashion-mnist"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-shift", type=int, default=2, help="random translation augmentation, pixels")
    ap.add_argument("--widths", default="32,64,128", help="channels of the three conv stages")
    ap.add_argument("--out", default=str(WEIGHTS), help="folder for <data>.safetensors and <data>.json")
    a = ap.parse_args(argv)
    widths = tuple(int(w) for w in a.widths.split(","))
    net, info = train(
        a.data, a.epochs, a.seed, max_shift=a.max_shift, flip=a.data == "fashion-mnist", widths=widths
    )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{a.data}.safetensors"
    write_bytes(path, save({k: v.contiguous() for k, v in net.state_dict().items()}))
    info["sha256"] = sha256_file(path)
    info["command"] = (
        f"python -m gennet.eval.train_features --data {a.data} --epochs {a.epochs} --seed {a.seed} "
        f"--max-shift {a.max_shift} --widths {a.widths}"
    )
    write_text(path.with_suffix(".json"), json.dumps(info, indent=2) + "\n")
    print(json.dumps({k: info[k] for k in ("data", "epochs", "test_accuracy", "seconds", "sha256")}))


if __name__ == "__main__":
    main()
