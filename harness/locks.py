"""Claims on runs and the experiment lock: how several processes share one study safely.

Two mechanisms, each for what it is good at:

- A **claim** marks one run as being computed. It is a small JSON file
  (pid, host, process start time), created as a hard link (``os.link``) to the
  process's complete owner file; the link fails if the claim exists, so
  creation is atomic even on NFS, a reader never sees half a claim, and a
  claim costs one system call. A process holding claims touches
  them every few seconds (a heartbeat). A claim is *stale*, and may be taken
  over, when its process is gone: on this host, when the pid is dead (or was
  reused by a process that started later); from another host, when it has not
  been touched for :data:`LEASE_S` seconds. A SIGKILLed study therefore leaves
  claims that the next run of the same command recovers.
- The **experiment lock** (``fcntl.flock`` on ``<experiment>/.lock``) makes the
  manifest's read-modify-write and the take-over of a stale claim atomic with
  respect to other processes; the kernel drops it when its holder dies. It is
  held for milliseconds, so a wait longer than :data:`LOCK_WAIT_S` means a
  stuck process or a crafted lock file: a one-line error names it.

No file here is opened through a symbolic link or as anything but a regular
file (``O_NOFOLLOW``, ``O_NONBLOCK`` and a type check): a link or FIFO planted
in a shared results folder is refused in one line, never followed or waited on.

The run file itself stays the source of truth: a run whose Parquet file exists
is done, whatever claims say, so a race can at worst repeat work, never lose or
duplicate a run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import stat
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

#: A claim from another host untouched for this long is considered abandoned.
LEASE_S = 120.0
#: How often a process touches the claims it holds.
HEARTBEAT_S = 10.0
#: Longest wait for the experiment lock before giving up with a one-line error.
LOCK_WAIT_S = 60.0
#: Claims and owner files are a few dozen bytes; anything larger is not a claim.
_CLAIM_MAX = 4096
#: What :func:`read_claim` returns for an entry that cannot be a claim (a link, a FIFO).
_NOT_A_CLAIM = {"not_a_claim": True}

_HOST = socket.gethostname()


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to detect pid reuse."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after it.
    return int(text.rpartition(")")[2].split()[19])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_owner() -> dict:
    """Who this process is, as written into its claims."""
    return {"pid": os.getpid(), "host": _HOST, "start": _start_ticks(os.getpid())}


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that never follows a link nor blocks on a FIFO; the result is a regular file."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"{path} is not a regular file; remove it", str(path))
    return fd


def read_regular(path: Path) -> bytes:
    """A regular file's bytes, never through a symbolic link nor blocking on a FIFO."""
    with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as f:
        return f.read()


def read_claim(path: Path) -> dict | None:
    """A claim's owner record; ``{}`` if unreadable (a claim being written, or garbage).

    A symbolic link, FIFO or device is no claim tabnas makes: it reads as
    :data:`_NOT_A_CLAIM`, which is stale at once (the take-over removes the
    entry itself, never what a link points to).
    """
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError:  # a link (ELOOP), a FIFO or device (EINVAL), unreadable
        try:
            regular = stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            regular = True
        return {} if regular else dict(_NOT_A_CLAIM)
    try:
        with os.fdopen(fd, "rb") as f:
            info = json.loads(f.read(_CLAIM_MAX + 1)[:_CLAIM_MAX])
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def claim_is_stale(path: Path, info: dict | None = None) -> bool:
    """Whether the process that wrote this claim is gone (see the module docstring)."""
    if info is None:
        info = read_claim(path)
    if info is None:
        return False
    if info == _NOT_A_CLAIM:
        return True
    if info.get("host") == _HOST and isinstance(info.get("pid"), int):
        pid = info["pid"]
        if not _pid_alive(pid):
            return True
        start = info.get("start")
        return start is not None and _start_ticks(pid) not in (None, start)
    try:
        return time.time() - os.lstat(path).st_mtime > LEASE_S
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def experiment_lock(exp_dir: Path) -> Iterator[None]:
    """Exclusive lock on the experiment; released on exit or process death.

    Waits at most :data:`LOCK_WAIT_S` seconds (saying so on stderr after a
    second), then fails with one line naming the lock file.
    """
    from tabnas.errors import UserError

    exp_dir.mkdir(parents=True, exist_ok=True)
    lock = exp_dir / ".lock"
    try:
        fd = open_regular(lock, os.O_CREAT | os.O_RDWR)
    except OSError as exc:
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else (
            exc.strerror or str(exc))
        raise UserError(f"cannot use the experiment lock {lock}: {reason}; remove it (no "
                        "tabnas process should be running on this experiment)") from None
    try:
        start, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= LOCK_WAIT_S:
                    raise UserError(
                        f"the experiment lock {lock} has been held by another process for "
                        f"{LOCK_WAIT_S:g} s (tabnas holds it for milliseconds); find the "
                        f"process with 'fuser {lock}' and stop it") from None
                if waited >= 1.0 and not told:
                    print(f"tabnas: waiting for the experiment lock {lock}, held by another "
                          "process", file=sys.stderr)
                    told = True
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing drops the lock


class Claims:
    """The claims this process holds in one experiment, kept alive by a heartbeat thread."""

    def __init__(self, exp_dir: Path) -> None:
        self.exp_dir = exp_dir
        self.root = exp_dir / ".claims"
        self.held: set[Path] = set()
        owner = claim_owner()
        # Every claim is a hard link to this one complete file: one system call per claim.
        self._owner_file = self.root / f".owner-{owner['host']}-{owner['pid']}-{uuid.uuid4().hex}"
        self._owner = json.dumps(owner)
        self._dirs: set[Path] = set()
        self._unlinked = False  # some claims are plain files: the heartbeat touches each
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def path(self, parts: tuple[str, str, str]) -> Path:
        return self.root.joinpath(*parts)

    def try_claim(self, path: Path) -> bool:
        """Claim ``path``; take it over if its holder is gone. False if someone live holds it."""
        if self._create(path):
            return True
        info = read_claim(path)
        if not claim_is_stale(path, info):
            return False
        with experiment_lock(self.exp_dir):
            # Re-check under the lock: another process may have taken it over already.
            if read_claim(path) != info or not claim_is_stale(path, info):
                return False
            path.unlink(missing_ok=True)
            return self._create(path)

    def _create(self, path: Path) -> bool:
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        try:
            os.link(self._owner_file, path)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: exclusive create, then write
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as f:
                f.write(self._owner)
            self._unlinked = True
        with self._lock:
            self.held.add(path)
        return True

    def release(self, path: Path) -> None:
        with self._lock:
            self.held.discard(path)
        path.unlink(missing_ok=True)

    def release_all(self) -> None:
        with self._lock:
            held, self.held = list(self.held), set()
        for path in held:
            path.unlink(missing_ok=True)

    def _beat(self) -> None:
        # Claims are hard links to the owner file: touching it touches them all.
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                paths = [self._owner_file, *(self.held if self._unlinked else ())]
            for path in paths:
                with contextlib.suppress(OSError):
                    os.utime(path)

    def _sweep(self) -> None:
        """Remove claims and owner files left by dead processes (e.g. a run finished
        and written just before its process was killed, so nobody would take it over)."""
        stale = [p for p in self.root.glob("*/*/*") if claim_is_stale(p)]
        stale += [p for p in self.root.glob(".owner-*") if claim_is_stale(p)]
        if not stale:
            return
        with experiment_lock(self.exp_dir):
            for path in stale:
                info = read_claim(path)
                if info is not None and claim_is_stale(path, info):
                    path.unlink(missing_ok=True)

    def __enter__(self) -> Claims:
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep()
        # A unique name, created exclusively: complete before any claim links to it.
        fd = os.open(self._owner_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW,
                     0o644)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self._owner)
        except BaseException:  # a full disk: no owner file is left behind
            self._owner_file.unlink(missing_ok=True)
            raise
        self._thread = threading.Thread(target=self._beat, name="tabnas-claims", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release_all()
        self._owner_file.unlink(missing_ok=True)
