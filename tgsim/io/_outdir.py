"""Output folders written as a whole: a temporary sibling, then a move into place.

A run writes into ``.<name>.tmp-<pid>-<random>`` beside the output folder ``<name>`` and
moves its files in only when it succeeded. ``manifest.json`` lists what tgsim wrote, so
``--overwrite`` replaces exactly those files and never deletes anything else in the
folder. Temporary folders left by a killed run (its process no longer exists) are removed
by the next run into the same folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError

__all__ = ["atomic_dir", "clean_stale", "manifest_files", "MANIFEST"]

MANIFEST = "manifest.json"

#: a temporary folder whose name carries no process id is stale after this many seconds
STALE_AFTER_S = 24 * 3600.0


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - e.g. pid out of range
        return False
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove the temporary siblings of ``out`` left by runs that were killed.

    A folder ``.<name>.tmp-<pid>-<hex>`` (or ``.old-``) is stale when process ``pid``
    no longer exists; one without a process id in its name when it is older than a day.
    Returns the folders removed.
    """
    removed = []
    parent = out.parent
    if not parent.is_dir():
        return removed
    for kind in ("tmp", "old"):
        for p in parent.glob(f".{out.name}.{kind}-*"):
            if not p.is_dir() or p.is_symlink():
                continue
            tail = p.name[len(f".{out.name}.{kind}-"):].split("-")
            try:
                stale = not _pid_alive(int(tail[0])) if len(tail) == 2 else None
            except ValueError:
                stale = None
            if stale is None:
                with contextlib.suppress(OSError):
                    stale = time.time() - p.stat().st_mtime > STALE_AFTER_S
            if stale:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def manifest_files(out: Path) -> set[str]:
    """Top-level names in ``out`` that an earlier run wrote (from its ``manifest.json``);
    empty when there is no readable manifest."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        names = [str(v) for v in files.values()] if isinstance(files, dict) else []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    top = set()
    for name in names:
        parts = Path(name).parts
        if parts and not Path(name).is_absolute() and ".." not in parts:
            top.add(parts[0])
    return top | {MANIFEST}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _merge(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished files of ``tmp`` into the existing, non-empty ``out``."""
    if not overwrite:
        raise ConfigError(f"output directory {str(out)!r} appeared while running and is "
                          "not empty; nothing was written")
    ours = manifest_files(out)
    new = sorted(p.name for p in tmp.iterdir())
    foreign = [n for n in new if (out / n).exists() and n not in ours]
    if foreign:
        raise ConfigError(
            f"--overwrite replaces only files tgsim wrote (listed in {out / MANIFEST}); "
            f"{', '.join(repr(str(out / n)) for n in foreign)} would be replaced but is not "
            "one of them; move it away or choose another output folder. Nothing was changed")
    trash = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    trash.mkdir()
    try:
        for name in sorted(ours - set(new)):  # old outputs this run does not write again
            if (out / name).exists() or (out / name).is_symlink():
                os.replace(out / name, trash / name)
        for name in [n for n in new if n != MANIFEST] + [MANIFEST]:  # the manifest last
            if (out / name).is_dir() and not (out / name).is_symlink():
                os.replace(out / name, trash / name)
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling folder; move its files into ``out`` when the body
    succeeds (see the module docstring).

    Raises
    ------
    ConfigError
        If ``out`` is not empty and ``overwrite`` is false, or if a file of this run
        would replace one that no earlier run wrote.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if out.is_dir() and any(out.iterdir()):
            _merge(tmp, out, overwrite)
            tmp.rmdir()
        else:
            if out.is_dir():
                out.rmdir()
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
