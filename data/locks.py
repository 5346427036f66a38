"""One lock helper for every writer: an advisory lock per (purpose, file), across processes.

The lock file lives in the temp directory, keyed by the purpose and the file's full path, so
nothing appears beside the store (or in the repository); the kernel releases it if the holder
dies (kill -9 included). Two purposes are in use: "store" (one writer of a file at a time:
imports, rebuilds, sample builds, and the edits file's saves, each file its own lock) and
"import" (one import or rollback of a store at a time: both would write <db>.tmp).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def held(
    path: Path,
    purpose: str,
    wait_seconds: float | None = None,
    busy: Callable[[], Exception] | None = None,
) -> Iterator[None]:
    """Hold the `purpose` lock of `path` for the block. wait_seconds=None waits as long as it
    takes; 0 fails at once. When the wait runs out, `busy()` is raised (a TimeoutError
    without it)."""
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"handoff-{purpose}-{key}.lock"
    deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
    with open(lock_path, "w") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise (
                        busy() if busy else TimeoutError(f"{Path(path).name} is locked ({purpose})")
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
