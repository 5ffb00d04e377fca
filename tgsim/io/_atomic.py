"""Atomic file output: never leave a half-written file under the final name."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def check_output_file(path: str | os.PathLike[str], option: str = "output") -> str:
    """Refuse an output file name that is an existing folder (or ends in a separator).

    Raises
    ------
    TgsimError
        Naming the option and the path.
    """
    from ..errors import TgsimError

    text = os.fspath(path)
    if os.path.isdir(text) or text.endswith(("/", os.sep)):
        raise TgsimError(f"{option} {text!r} is a folder; give a file name (e.g. "
                         f"{os.path.join(text, 'result')!r} with its extension)")
    return text


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same folder (so the final ``os.replace`` is atomic
    on POSIX); the finished file gets the mode a plain ``open`` would give (0666 less the
    umask). If the body raises — a full disk, an interrupted write — the temporary
    file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_path("out.nc") as tmp:          # doctest: +SKIP
    ...     dataset.to_netcdf(tmp)
    """
    final = Path(check_output_file(path))
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_files(final)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}-", suffix=".tmp",
                                    dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.is_file():  # mkstemp makes 0600 files: give the usual umask-based mode
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()
        raise


def _clean_stale_files(final: Path) -> None:
    """Remove temporary files ``.<name>.<pid>-<random>.tmp`` beside ``final`` left by a
    process that was killed (the process no longer exists)."""
    from ._outdir import _pid_alive

    head = f".{final.name}."
    for p in final.parent.glob(f"{glob.escape(head)}*.tmp"):
        pid = p.name[len(head):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)) and p.is_file() and not p.is_symlink():
            with contextlib.suppress(OSError):
                p.unlink()


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
