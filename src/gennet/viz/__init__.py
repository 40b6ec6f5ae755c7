"""Pictures of what the networks do: image grids, latent scatter plots and loss curves.

Layer: imports NumPy, Pillow, matplotlib and `eval.suites` (metric declarations for the
report); never `runs`, the verbs or `api`.
"""

from gennet.viz.grid import make_grid, save_grid, save_image_npz, save_rows, to_uint8
from gennet.viz.plots import latent_scatter, loss_curves, pca_2d, read_loss_series

__all__ = [
    "latent_scatter",
    "loss_curves",
    "make_grid",
    "pca_2d",
    "read_loss_series",
    "save_grid",
    "save_image_npz",
    "save_rows",
    "to_uint8",
]
