import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads: tiny models gain nothing from threads

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

# Tiny settings applied to every model whose Config has the field (tests stay fast on 2 cores).
TINY = {
    "hidden": (32,),
    "latent_dim": 4,
    "conv_channels": (8, 16),
    "base_channels": 8,  # GAN / CycleGAN widths
    "disc_hidden": (16,),  # latent and joint discriminators
    "n_blocks": 1,  # residual blocks of a translation generator
    "fmap_base": 64,  # StyleGAN widths: min(64 / 2^stage, 16) channels
    "fmap_max": 16,
    "w_dim": 8,
    "mapping_layers": 2,
    "start_resolution": 1024,  # StyleGAN: start at the data's full resolution, so every block trains
}


def tiny_overrides(name: str, **extra):
    from gennet.api import model_config

    fields = set(vars(model_config(name)).keys())
    out = {k: v for k, v in TINY.items() if k in fields}
    out.update(extra)
    return out


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


# ---- a tiny VAE run through the CLI, for the tests of damaged runs and atomic writes ---------------
TINY_VAE_TRAIN = ["train", "vae", "--data", "synthetic-shapes", "--batch-size", "32", "--quiet"]
TINY_VAE_SETTINGS = [
    "--set",
    "hidden=16",
    "latent_dim=2",
    "log_every=5",
    "sample_every=10",
    "checkpoint_every=5",
]


def tiny_vae_run(out) -> None:
    """Train the tiny VAE for 10 steps into `out` through the CLI."""
    from gennet.cli import main

    assert main([*TINY_VAE_TRAIN, "--steps", "10", "--out", str(out), *TINY_VAE_SETTINGS]) == 0


def cli(capsys, *args) -> tuple[int, str]:
    """Run the CLI with `args`; its exit status and what it wrote to stderr."""
    from gennet.cli import main

    capsys.readouterr()
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err


def tiny_mlp_run(out, model: str):
    """A 2-step run of an MLP model (hidden 16, latent 2) on the synthetic shapes, through the API."""
    import gennet

    gennet.train(model, out, data="synthetic-shapes", steps=2, batch_size=16, quiet=True, hidden=(16,),
                 latent_dim=2, log_every=1)  # fmt: skip
    return out
