"""`gennet demo RUN`: a web page on 127.0.0.1 to explore a trained run.

Sample with a seed (and truncation, for StyleGAN), walk between two seeds, pick a class for a
conditional model, upload an image to reconstruct, denoise or translate (only what the model can
do), and read the run's eval.json metrics and loss curves. Served by the standard library's
ThreadingHTTPServer: one self-contained page (`page.html`) and JSON endpoints that return PNGs
as data URLs (`server.py`), calling the public verbs (`actions.py`).

    from gennet.demo import DemoServer, Demo, serve
    serve(gennet.load("runs/vae"), port=8000)     # until Ctrl-C

Layer: the top, beside the CLI: imports the facade `gennet.api` and public helpers; the CLI uses it.
"""

from .actions import Demo
from .server import DemoServer, serve

__all__ = ["Demo", "DemoServer", "serve"]
