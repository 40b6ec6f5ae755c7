"""Run by tests/test_distributed.py under torchrun: a callback of process 0 fails at step 20 of 400
(a reason to stop that only process 0 knows), and every process must stop at the same later step,
agreed by `StopVote`. Each process writes the step it stopped at and how many votes it took part in
to argv[1]/rank<R>.json."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as tdist

from gennet.api import build_model
from gennet.config import TrainConfig
from gennet.data import load_dataset
from gennet.errors import CallbackError, TrainingInterrupted
from gennet.train import Trainer
from gennet.train import distributed as D
from gennet.train.callbacks import Callback


class FailsAtStep20(Callback):
    def on_log(self, step, row):
        if step == 20:
            raise RuntimeError("the tracker went away")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    D.VOTE_EVERY_S = 0.05  # votes about every 50 ms: a few within this short run
    votes = []
    all_reduce = tdist.all_reduce

    def counting(t, *args, **kw):
        if t.numel() == 2:  # StopVote's [wish, gap]; the NaN guard's flag is one number
            votes.append(1)
        return all_reduce(t, *args, **kw)

    tdist.all_reduce = counting
    data = load_dataset("synthetic-shapes", split="train")
    device = torch.device("cpu")
    dist = D.init_from_env(device)
    torch.manual_seed(0)
    model = build_model("ae", data.spec, {"hidden": (16,), "latent_dim": 2})
    cfg = TrainConfig(model="ae", steps=400, batch_size=16, quiet=True, log_every=10, sample_every=10**6,
                      checkpoint_every=10**6, precision="fp32")  # fmt: skip
    trainer = Trainer(model, data, cfg, out / "run", device, dist, callbacks=[FailsAtStep20()])
    try:
        trainer.fit()
    except CallbackError:
        assert dist.is_main  # its own callback failed
    except TrainingInterrupted:
        assert not dist.is_main  # stopped for another process
    (out / f"rank{dist.rank}.json").write_text(json.dumps({"step": trainer.step, "votes": len(votes)}))
    D.shutdown(dist)
