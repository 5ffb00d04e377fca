"""The kernel cache: where compiled kernels live, and why tgsim trusts what it loads.

Generated kernel modules and Numba's compiled machine code (``.nbi`` index and ``.nbc``
data files, which Numba reads with :mod:`pickle`) are kept in one folder,
``$TGSIM_CACHE_DIR`` or ``$XDG_CACHE_HOME/tgsim/kernels`` (``~/.cache/tgsim/kernels``).
Loading a pickle runs code, so tgsim loads from that folder only when nobody else could
have written to it:

* tgsim creates the folder (and any parent it creates) with mode 0700;
* before loading, the folder and its ``__pycache__`` must be owned by the current user
  and not writable by group or others; otherwise tgsim raises :class:`KernelCacheError`
  naming the folder and the fix, and loads nothing;
* when the folder cannot be created or written, tgsim falls back to a private per-user
  folder (``~/.cache/tgsim/kernels``, created 0700), never to a shared temporary folder;
* a cache entry that cannot be read (a truncated or corrupted file) is deleted and
  rebuilt, with one line on stderr saying so;
* where ``NUMBA_CACHE_DIR`` is set, Numba keeps its compiled files there instead, and
  that folder must pass the same checks.

The card-independent kernels (:mod:`tgsim.fitting._kernels`, :mod:`tgsim.metastasis._kernels`)
are cached beside the installed package, like its bytecode, and trusted as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import TgsimError

__all__ = ["KernelCacheError", "cache_dir", "check_trusted", "announce", "guard_module"]

_ANNOUNCED: set[str] = set()
_LOCK = threading.Lock()
#: set by :func:`quiet` (``tgsim compile`` reports its own progress)
_QUIET = False


@contextlib.contextmanager
def quiet() -> Any:
    """No compile announcements inside this block."""
    global _QUIET
    old, _QUIET = _QUIET, True
    try:
        yield
    finally:
        _QUIET = old


class KernelCacheError(TgsimError):
    """The kernel cache folder is not private to the current user."""


def _default_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "tgsim" / "kernels"


def _make_private(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        os.chmod(d, 0o700)


def check_trusted(path: Path) -> None:
    """Raise :class:`KernelCacheError` unless ``path`` is a folder owned by this user and
    writable by nobody else (the same for its ``__pycache__`` where it exists)."""
    for p in (path, path / "__pycache__"):
        if p == path / "__pycache__" and not p.exists():
            continue
        st = os.lstat(p)
        if not stat.S_ISDIR(st.st_mode):
            raise KernelCacheError(f"kernel cache {p} is not a folder")
        uid = os.getuid() if hasattr(os, "getuid") else st.st_uid
        if st.st_uid != uid:
            raise KernelCacheError(
                f"kernel cache {p} is owned by user id {st.st_uid}, not by you ({uid}); "
                "tgsim loads compiled code only from a folder that only you can write. "
                "Point TGSIM_CACHE_DIR at a folder of your own, or remove that one")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise KernelCacheError(
                f"kernel cache {p} is writable by group or others (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); anyone who can write there could run code "
                f"in your tgsim processes. Run `chmod 700 {p}` or point TGSIM_CACHE_DIR at a "
                "private folder")


def _usable(path: Path) -> bool:
    try:
        _make_private(path)
        probe = path / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return path.is_dir()
    except OSError:
        return False


def cache_dir() -> Path:
    """The kernel cache folder, created private (0700) and checked (see the module doc)."""
    env = os.environ.get("TGSIM_CACHE_DIR")
    base = Path(env) if env else _default_dir()
    if not _usable(base):
        fallback = _default_dir()
        if base == fallback or not _usable(fallback):
            raise KernelCacheError(
                f"cannot create or write the kernel cache {base}"
                + ("" if base == fallback else f" nor the private fallback {fallback}")
                + "; set TGSIM_CACHE_DIR to a writable folder of your own")
        print(f"tgsim: kernel cache {base} is not writable; using {fallback}",
              file=sys.stderr)
        base = fallback
    check_trusted(base)
    from numba.core import config

    if config.CACHE_DIR and Path(config.CACHE_DIR).is_dir():
        # NUMBA_CACHE_DIR moves Numba's compiled files there: the same rules apply
        check_trusted(Path(config.CACHE_DIR))
    return base


def _entry_files(cache: Any) -> list[Path]:
    """The index file of a dispatcher's cache and its data files."""
    f = getattr(cache, "_cache_file", None)
    index = getattr(f, "_index_path", None)
    if index is None:
        return []
    index = Path(index)
    stem = index.name[: -len(".nbi")]
    return [index, *index.parent.glob(f"{stem}.*.nbc")]


def _is_cached(disp: Any) -> bool:
    """Whether ``disp`` is compiled in this process or has an entry on disk."""
    if disp.signatures:
        return True
    files = _entry_files(getattr(disp, "_cache", None))
    return bool(files) and files[0].exists()


def announce(module: ModuleType, *names: str) -> None:
    """Say on stderr, once per module and process, that kernels of ``module`` are about to
    be compiled: the entry points ``names`` are neither compiled nor cached on disk."""
    if _QUIET or module.__name__ in _ANNOUNCED:
        return
    if all(_is_cached(getattr(module, n)) for n in names):
        return
    with _LOCK:
        if module.__name__ in _ANNOUNCED:
            return
        _ANNOUNCED.add(module.__name__)
    label = getattr(module, "__tgsim_label__", module.__name__)
    print(f"tgsim: compiling {label} kernels (first use; cached afterwards, "
          "`tgsim compile` warms the cache ahead)...", file=sys.stderr, flush=True)


def _safe_loader(disp: Any, cache: Any) -> None:
    """Make a cache entry that cannot be read count as missing: delete it and say so."""
    original = cache.load_overload

    def load_overload(sig: Any, target_context: Any) -> Any:
        try:
            return original(sig, target_context)
        except Exception as exc:  # a truncated or corrupted pickle, a bad index
            for p in _entry_files(cache):
                with contextlib.suppress(OSError):
                    p.unlink()
            print(f"tgsim: kernel cache entry for {disp.py_func.__name__} could not be read "
                  f"({type(exc).__name__}); removed, rebuilding", file=sys.stderr, flush=True)
            return None

    cache.load_overload = load_overload


def guard_module(module: ModuleType) -> None:
    """Give every Numba dispatcher of ``module`` the corrupt-entry recovery."""
    for value in vars(module).values():
        cache = getattr(value, "_cache", None)
        if cache is not None and hasattr(cache, "load_overload") and hasattr(value, "py_func"):
            if getattr(value, "__module__", None) == module.__name__ or \
                    getattr(value.py_func, "__module__", None) == module.__name__:
                _safe_loader(value, cache)
