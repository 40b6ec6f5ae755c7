"""One generic trainer. It knows no model by name: it runs the phases the model declares, each
step in a fresh `StepContext`, in the stage the model's schedule gives for that step.

Layer: `train/` imports `models.base` (the contract), `data`, `viz`, `config` and the metric
modules of `eval/`; it never imports a model family, `runs`, the verbs or `api`.

Run directory:
    config.json          resolved configuration (train + model + data spec)
    checkpoints/last.pt  weights, every optimizer and scheduler, EMA, loader position, step
    model.safetensors    final weights (ema.safetensors too when EMA is on)
    metrics.jsonl        one JSON row per log interval ("phase/name": mean value)
    samples/step-N.png   preview grids at intervals
    tb/, mlflow.db, wandb/, tracking.json   what the trackers write (callbacks, called on rank 0 only)
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import TrainConfig
from ..data import ImageData, UnpairedData
from ..errors import CallbackError, GennetError, TrainingDiverged, TrainingInterrupted
from ..models.base import GenerativeModel, Phase, Stage, StepContext
from ..validation import check_settings, divergence_advice
from ..viz import save_grid, save_rows
from . import distributed as D
from .callbacks import CallbackList, TrainInfo
from .checkpoint import bad_file, load_checkpoint, load_state, save_checkpoint, save_weights, short_reason
from .ema import EMA
from .loader import make_loader
from .metrics_log import append_row, truncate_rows
from .monitor import CollapseMonitor
from .precision import resolve_channels_last, resolve_precision
from .signals import StopSignals
from .tracking import trackers_for

# smoothing=0: the time left from the average rate since the start, not the last steps' (which swing)
BAR_OPTIONS = {"unit": "step", "dynamic_ncols": True, "smoothing": 0}


def step_seed(seed: int, step: int, rank: int) -> int:
    """The global RNG is reseeded from (seed, step, rank) every step, so randomness inside a
    step (noise, dropout, corruption) is the same in a resumed run as in an unbroken one."""
    return ((seed * 1_000_003 + step) * 1024 + rank) % (2**63 - 1)


class Trainer:
    def __init__(
        self,
        model: GenerativeModel,
        data: ImageData | UnpairedData,
        cfg: TrainConfig,
        run_dir: Path,
        device: torch.device,
        dist: D.DistInfo | None = None,
        callbacks=(),  # objects with `Callback`'s hooks, called after cfg.track's trackers (rank 0)
    ):
        check_settings(cfg, "train")  # a TrainConfig built by hand in Python, before any folder is made
        model.check_data(data)  # a set the model cannot learn from: refused before anything is written
        trackers = trackers_for(cfg.track)  # an unknown tracker or a missing package: an error now
        self.cfg, self.run_dir, self.device = cfg, Path(run_dir), device
        self.precision = resolve_precision(cfg.precision, device)  # auto -> bf16 or fp32
        self.channels_last = resolve_channels_last(cfg.channels_last, cfg.precision, device)
        self.dist = dist or D.DistInfo()
        self.callbacks = CallbackList([*trackers, *callbacks] if self.dist.is_main else [])
        self.model = model.to(device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = None
        if cfg.ema > 0 or cfg.ema_kimg > 0:
            self.ema = EMA(self.model, cfg.ema, cfg.ema_kimg, cfg.ema_rampup)
        self.model.total_steps = cfg.steps
        self.phases: list[Phase] = self.model.training_phases()
        # one optimizer per owning phase; a phase naming another's optimizer shares it
        self.optimizers = {p.name: p.optimizer.build(p.params) for p in self.phases if not p.shares_optimizer}
        self._opt_of = {p.name: p.optimizer if p.shares_optimizer else p.name for p in self.phases}
        self._schedules = {p.name: p.lr_lambda for p in self.phases if p.lr_lambda is not None}
        self._base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in self.optimizers.items()}
        # While a phase runs, parameters it does not update are frozen (requires_grad=False), so its
        # backward computes no weight gradients for them (G's backward through D skips D's weight
        # gradients). Under DDP the set of parameters needing gradients must not change, so not there.
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self._frozen: dict[str, list] = {}
        if not self.dist.enabled:
            for ph in self.phases:
                own = {id(p) for p in ph.params}
                self._frozen[ph.name] = [p for p in trainable if id(p) not in own and ph.freeze_others]
        self._trainable = trainable
        self.monitor = CollapseMonitor(data.images[:64], cfg.seed) if self.model.can("sample") else None
        self.loader = make_loader(
            data,
            cfg.batch_size,
            device,
            seed=cfg.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            channels_last=self.channels_last,
        )
        self.preview_x = data.images[:64].float().div(255).to(device)
        self.wrapped = D.wrap(self.model, self.dist, device, self.phases)
        self.step = 0
        self.images_seen = 0  # global: every process's share of every batch
        self.stage: Stage | None = None
        self._loaded_stage: int | None = None  # the stage index a resumed checkpoint was in
        self.last_checkpoint_step: int | None = None
        self.resumed = False
        self.ckpt_path = self.run_dir / "checkpoints" / "last.pt"

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "images_seen": self.images_seen,
            "stage": self.stage.index if self.stage is not None else None,
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "loader": self.loader.state_dict(),
        }

    def load_state_dict(self, state: dict, source: Path | None = None) -> None:
        """Restore a checkpoint's state (checked by `load_checkpoint`); one that does not fit this
        model and its optimizers is a RunFileError naming `source` (default: the checkpoint)."""
        source = source or self.ckpt_path
        load_state(self.model, state["model"], source)
        try:
            for k, o in self.optimizers.items():
                o.load_state_dict(state["optimizers"][k])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            self.loader.load_state_dict(state["loader"])
            self.step = int(state["step"])
            self.images_seen = int(state.get("images_seen", self.step * self.cfg.batch_size))
            self._loaded_stage = state.get("stage")
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise bad_file(
                source, f"does not fit this run's model and settings ({short_reason(e)})"
            ) from None

    def resume(self) -> None:
        """Read, check and restore the last checkpoint, in memory only: nothing on disk changes
        (`fit` then trims metrics.jsonl to it)."""
        if not self.ckpt_path.is_file():
            raise GennetError(f"--resume: no checkpoint at {self.ckpt_path}; start without --resume")
        self.load_state_dict(load_checkpoint(self.ckpt_path))
        self.last_checkpoint_step = self.step
        self.resumed = True

    def save_checkpoint(self) -> None:
        if self.dist.is_main:
            save_checkpoint(self.state_dict(), self.ckpt_path)
            self.callbacks.checkpoint(self.step, self.ckpt_path)
        self.last_checkpoint_step = self.step
        D.barrier(self.dist)

    def save_final(self) -> None:
        if not self.dist.is_main:
            return
        save_weights(self.model.state_dict(), self.run_dir / "model.safetensors")
        if self.ema is not None:
            save_weights(self.ema.module.state_dict(), self.run_dir / "ema.safetensors")

    # ---- the loop -------------------------------------------------------------------------
    def _reseed(self, seed: int) -> None:
        # The generators themselves: torch.manual_seed also queues lazy seeds for every accelerator
        # backend with a captured stack trace, ~0.3 ms a call (measured in bench/throughput.py).
        torch.default_generator.manual_seed(seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed(seed)
        elif self.device.type == "mps":
            torch.mps.manual_seed(seed)

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _freeze_for(self, phase: Phase) -> None:
        frozen = self._frozen.get(phase.name)
        if frozen is None:
            return
        for p in self._trainable:
            p.requires_grad_(True)
        for p in frozen:
            p.requires_grad_(False)

    def _enter_stage(self, stage: Stage) -> None:
        """At a stage boundary: the stage's batch size (the run's when it names none), and a reset of
        every optimizer's state where the stage asks (not on resume: the checkpoint holds it)."""
        before = self.stage.index if self.stage is not None else self._loaded_stage
        if stage.reset_optimizers and before is not None and before != stage.index:
            for opt in self.optimizers.values():
                opt.state.clear()
        self.stage = stage
        self.loader.set_batch_size(stage.batch_size or self.cfg.batch_size)

    def _set_learning_rates(self) -> None:
        """lr = base lr x the phase's schedule at this step x the stage's scale (pure in the step)."""
        scale = self.stage.lr_scale if self.stage is not None else 1.0
        for name, opt in self.optimizers.items():
            sched = self._schedules.get(name)
            factor = (sched(self.step) if sched is not None else 1.0) * scale
            for g, base in zip(opt.param_groups, self._base_lrs[name], strict=True):
                g["lr"] = base * factor

    def _train_step(self, sums: dict, counts: dict) -> None:
        """One step: every phase due at it, in a fresh context; then the EMA; then the next lrs."""
        self._reseed(step_seed(self.cfg.seed, self.step, self.dist.rank))
        stage = self.model.stage(self.step, self.images_seen)
        if stage.index != getattr(self.stage, "index", None):
            self._enter_stage(stage)
            self._set_learning_rates()
        ctx = StepContext(self.step, self.cfg.steps, stage, self.images_seen)
        batch_size = self.loader.batch_size
        for phase in self.phases:
            if self.step % phase.every == 0:
                self._run_phase(phase, ctx, sums, counts)
        if self.ema is not None:
            self.ema.update(self.model, batch_size, self.images_seen)
        self.images_seen += batch_size
        self.step += 1
        self._set_learning_rates()

    def _run_phase(self, phase: Phase, ctx: StepContext, sums: dict, counts: dict) -> None:
        opt = self.optimizers[self._opt_of[phase.name]]
        self._freeze_for(phase)
        for _ in range(phase.repeat):
            batch = self.loader.next()
            with self._autocast():
                out = self.wrapped(phase.name, batch, ctx)
            loss = out["loss"]
            bad = not bool(torch.isfinite(loss.detach()).item())
            if D.broadcast_flag(self.dist, bad, self.device):
                self._diverged(phase.name, out)
            self.model.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if phase.after_step is not None:
                phase.after_step()
            for k, v in out.items():
                key = f"{phase.name}/{k}"
                sums[key] = sums[key] + v.detach().float()
                counts[key] += 1

    def _resume_hint(self) -> str:
        return f"gennet train {self.cfg.model} --out {self.run_dir} --resume"

    def _interrupted(self, stop: StopSignals) -> None:
        why = f"by {stop.name}" if stop.signum is not None else "(another process was signalled)"
        raise TrainingInterrupted(
            f"training stopped {why} at step {self.step} of {self.cfg.steps}; the checkpoint and weights "
            f"of this step are in {self.run_dir}. Continue with: {self._resume_hint()}",
            stop.signum or 15,
        )

    def _diverged(self, phase: str, out: dict) -> None:
        values = {k: float(v.detach().float()) for k, v in out.items()}
        kept = (
            f"the last good checkpoint (step {self.last_checkpoint_step}) is kept at {self.ckpt_path}"
            if self.last_checkpoint_step is not None
            else "no checkpoint had been written yet"
        )
        raise TrainingDiverged(
            f"loss of phase {phase!r} is not finite at step {self.step} ({values}); training stopped and "
            f"{kept}. {divergence_advice(self.model.cfg, self.precision)}"
        )

    def fit(self, resume: bool = False) -> dict:
        """Train to `cfg.steps` (from the checkpoint if `resume`). SIGINT/SIGTERM, `max_seconds` or a
        failing callback end the run at the end of the current step, as if it were the last (logged,
        checkpointed, final weights written); then TrainingInterrupted or CallbackError says why.
        However the run ends, the loader is closed (a `DiskLoader`'s thread stopped) and a model
        trained channels_last is given back in the default layout, as a loaded run's model is (the
        same weights then give the same outputs bit for bit)."""
        try:
            return self._fit(resume)
        finally:
            self.loader.close()
            if self.channels_last:
                self.model.to(memory_format=torch.contiguous_format)

    def _fit(self, resume: bool) -> dict:
        if resume and not self.resumed:
            self.resume()
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.resumed:
                truncate_rows(self.run_dir / "metrics.jsonl", self.step)
        not_started = None
        try:
            if self.dist.is_main:
                self.callbacks.start(TrainInfo(self.run_dir, self.cfg, self.model, self.step, self.resumed))
        except CallbackError as e:
            not_started = e
        if D.broadcast_flag(self.dist, not_started is not None, self.device):  # every process stops
            raise not_started or CallbackError("a callback of the main process did not start")
        self.model.train()
        summary: dict = {"status": "failed", "steps": self.step}
        stop = StopSignals().__enter__()
        try:
            summary = self._loop(stop)
            summary["status"] = "failed" if self.callbacks.failed else summary["status"]
            self.save_final()
        except BaseException as e:
            summary.update(status="diverged" if isinstance(e, TrainingDiverged) else "failed", error=str(e))
            summary["steps"] = self.step
            raise
        finally:
            stop.__exit__()
            for p in self._trainable:  # undo the per-phase freezing
                p.requires_grad_(True)
            self.callbacks.end(summary)
        if summary["status"] == "interrupted":
            self._interrupted(stop)
        self.callbacks.raise_failure(self.run_dir, self.step, self._resume_hint())
        return summary

    def _loop(self, stop: StopSignals) -> dict:
        """The steps, with logs, previews and checkpoints at their intervals; the run's summary."""
        cfg, main = self.cfg, self.dist.is_main
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not main or cfg.quiet, **BAR_OPTIONS)
        sums: dict = defaultdict(float)
        counts: dict = defaultdict(int)
        t_last, step_last, t0, start = time.perf_counter(), self.step, time.perf_counter(), self.step
        last_row: dict = {}
        end, status, vote = cfg.steps, "finished", D.StopVote(self.dist, self.device)
        try:
            while self.step < end:
                self._train_step(sums, counts)
                bar.update(1)
                late = cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds
                asked = stop.signum is not None or self.callbacks.failed
                if vote(self.step, late or asked):  # every process at once (under torchrun, a vote)
                    end = self.step  # out of time, asked to stop or a callback failed: the last step
                    status = "stopped" if late and not asked else "interrupted"  # (maybe another's signal)
                if self.step % cfg.log_every == 0 or self.step == end:
                    now = time.perf_counter()
                    rate = (self.step - step_last) / max(now - t_last, 1e-9)
                    last_row = self._log(sums, counts, rate, bar)
                    sums, counts, t_last, step_last = defaultdict(float), defaultdict(int), now, self.step
                if self.step % cfg.sample_every == 0 or self.step == end:
                    self.write_preview()
                if self.step % cfg.checkpoint_every == 0 or self.step == end:
                    self.save_checkpoint()
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        rate = (self.step - start) / max(seconds, 1e-9)
        return dict(status=status, steps=self.step, seconds=seconds, steps_per_s=rate, last=last_row)

    # ---- logging & previews ------------------------------------------------------------------
    def _log(self, sums: dict, counts: dict, rate: float, bar) -> dict:
        row = {"step": self.step, "time": time.time(), "steps_per_s": round(rate, 2)}
        row.update({k: float(sums[k]) / counts[k] for k in sums})
        if not self.dist.is_main:
            return row
        if self.monitor is not None:
            with self._eval_net(ema=False) as net:  # the live generator: the EMA lags behind a collapse
                row["monitor/diversity"] = self.monitor.diversity(net)
            self.monitor.check(row["monitor/diversity"], self.step)
        row.update(self.callbacks.extra_metrics(self.step, row))
        append_row(self.run_dir / "metrics.jsonl", row)
        short = {k.split("/", 1)[1] if len(self.phases) == 1 else k: v for k, v in row.items() if "/" in k}
        div = short.pop("monitor/diversity", short.pop("diversity", None))
        if div is not None:  # first in the bar: the collapse signal
            short = {"diversity": div, **short}
        bar.set_postfix({k: f"{v:.4g}" for k, v in list(short.items())[:6]}, refresh=False)
        self.callbacks.log(self.step, row)
        return row

    @contextlib.contextmanager
    def _eval_net(self, ema: bool = True):
        """The network used for samples (the EMA copy when on and asked), in eval mode meanwhile."""
        net = self.ema.module if ema and self.ema is not None else self.model
        was_training = net.training
        net.eval()
        try:
            yield net
        finally:
            net.train(was_training)

    @torch.no_grad()
    def write_preview(self) -> None:
        if not self.dist.is_main:
            return
        g = torch.Generator().manual_seed(self.cfg.seed)
        with self._eval_net() as net:
            rows = net.preview(self.preview_x, 64 if net.can("sample") else 16, generator=g)
        path = self.run_dir / "samples" / f"step-{self.step:07d}.png"
        if len(rows) == 1:
            save_grid(rows[0].float().cpu(), path)
        else:
            save_rows([r.float().cpu() for r in rows], path)
        self.callbacks.image(self.step, "samples", path)
