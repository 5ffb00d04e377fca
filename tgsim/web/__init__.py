"""Browser explorer: ``tgsim explore --web``.

A local Bokeh server on 127.0.0.1 serves one page with sliders for every parameter of a
card (with its unit and meaning) and every field of the picked treatments, and plots the
true and observed volume, the scan diameters, the RECIST 1.1, iRECIST and LI-RADS
threshold-growth calls per scan, and the doubling time between scans. Each change is
simulated by the compiled kernels on the server. "Share this view" gives a link and a TOML
file that reproduce the page.

Needs the ``web`` extra (``pip install "tgsim[web]"``): Bokeh is imported only here.

Examples
--------
>>> from tgsim.web import View
>>> view = View.default("gompertz")
>>> view.enabled = {"immunotherapy", "swelling"}
>>> [type(item).__name__ for item in view.schedule()]
['Immunotherapy']
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from ..errors import TgsimError
from .state import PICKS, TREATMENTS, View, compute, simulate_view

__all__ = ["View", "compute", "serve", "app", "PICKS", "TREATMENTS", "require_bokeh"]


def require_bokeh() -> Any:
    """Import Bokeh, or raise a clear error naming the extra to install."""
    try:
        import bokeh
    except ImportError:
        raise TgsimError("the browser explorer needs Bokeh: pip install \"tgsim[web]\"") \
            from None
    return bokeh


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port free on ``address`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def app(view: View | None = None, *, model_path: Any = None, notes: list[str] | None = None):
    """The explorer as a Bokeh application function (``doc -> None``).

    In a notebook, ``bokeh.io.output_notebook(); bokeh.io.show(tgsim.web.app())`` shows
    the same page inline.
    """
    require_bokeh()
    from .app import make_document

    def build(doc: Any) -> None:
        make_document(doc, view, model_path=model_path, notes=notes)

    return build


def serve(view: View | None = None, *, port: int = 5006, address: str = "127.0.0.1",
          open_browser: bool = True, model_path: Any = None,
          notes: list[str] | None = None, warm: bool = True) -> None:
    """Serve the explorer on ``http://address:port/`` until interrupted.

    Parameters
    ----------
    view : View, optional
        Starting view (default :meth:`View.default`).
    port : int
        TCP port; 0 picks a free one. The URL is printed on stdout.
    address : str
        Address to listen on (default the loopback, 127.0.0.1).
    open_browser : bool
        Open the page in the default web browser.
    model_path : path or list of paths, optional
        Extra folders of user cards.
    notes : list of str, optional
        Lines shown above the plots.
    warm : bool
        Compute the starting view once before serving, and the same view with every
        treatment picked (one treated kernel per card serves every combination), so that
        the kernels are compiled (and cached) before the page asks for them: the first
        treatment picked then updates as fast as any other change.
    """
    require_bokeh()
    from bokeh.server.server import Server

    start = view or View.default(model_path=model_path)
    if warm:
        compute(start, model_path=model_path)
        treated = start.copy()
        treated.enabled = set(PICKS)
        simulate_view(treated, model_path=model_path)
    if port == 0:
        port = free_port(address)
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    try:
        server = Server({"/": app(start, model_path=model_path, notes=notes)}, port=port,
                        address=address, allow_websocket_origin=origins)
    except OSError as exc:
        raise TgsimError(f"cannot listen on {address}:{port}: {exc.strerror or exc}; "
                         "choose another --port (0 picks a free one)") from None
    server.start()
    url = f"http://{address}:{server.port}/"
    print(f"tgsim explorer at {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        import webbrowser

        server.io_loop.add_callback(webbrowser.open, url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
