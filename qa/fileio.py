"""Files and folders published whole, and work done once across processes.

:func:`publish_file` and :func:`publish_dir` make completely written (and synced) content live
in one rename, so a reader (or a crash) never sees half of it; :func:`exclusive` holds a file
lock around work that two processes starting together must not both do (converting the
model, exporting it).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def publish_file(target: Path, data: bytes | str, prefix: str = ".tmp-") -> Path:
    """Write ``data`` to ``target`` through a synced temporary sibling (named ``prefix…``)
    and one rename: ``target`` holds the old content or the new, never part of it."""
    target = Path(target)
    handle, temporary = tempfile.mkstemp(prefix=prefix, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` to disk (before it is published)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def publish_dir(staging: Path, target: Path) -> None:
    """Replace ``target`` with the complete folder ``staging`` (same file system).

    The old folder is first moved aside, so ``target`` is either the old or the new folder,
    never a mix; what was moved aside is then deleted.
    """
    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".retired-{target.name}-{secrets.token_hex(4)}")
    os.replace(target, retired)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def exclusive(lock_path: Path, what: str) -> Iterator[None]:
    """Hold the file lock ``lock_path`` (created with its folder) while the block runs.

    Args:
        lock_path: the lock file; processes using the same path exclude each other.
        what: what the holder does, for the log line written while waiting for another
            process (e.g. ``"converting the default model"``).
    """
    from filelock import FileLock, Timeout

    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process that is %s", what)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
