"""One writer per run folder: a lock file that names its holder, taken before a run writes anything.

Two runs writing one `model_dir` (a job requeued while the old one still runs) overwrite each other's checkpoints
and `checkpoint` state file, and neither notices. `hold(model_dir)` creates `<model_dir>/RUN_LOCK.json` with
`O_EXCL`, holding the host, PID, the PID's start time and the run's start time, and removes it when the run ends.

- A lock held by a live process is an error naming the holder (`RunLockedError`, exit status 2).
- A lock whose process is gone from this host (a SIGKILLed run, a crashed machine's restart on the same host) is
  stale: it is taken over, with a warning. A recycled PID is told apart by its start time.
- A lock from another host cannot be checked from here: it is honoured unless `force_unlock`.

Only local folders are locked: object stores (`gs://`, `s3://`) have no exclusive create, so a run there logs that
it is not locked. Under MultiWorkerMirroredStrategy only the chief holds the lock.
"""

import contextlib
import json
import os
import socket
import time
from typing import Optional

from absl import logging

LOCK_FILE = "RUN_LOCK.json"


class RunLockedError(ValueError):
    """Another run holds the folder."""


def _process_start(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (Linux `/proc/<pid>/stat` field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    pid = int(holder.get("pid", -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # Another user's live process.
    started = holder.get("pid_start")
    return started is None or _process_start(pid) in (None, started)


def _describe(holder: dict) -> str:
    return f"PID {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"


def acquire(directory: str, force_unlock: bool = False) -> Optional[dict]:
    """Takes the lock of `directory` (which must exist) and returns its record, or None for a non-local folder.

    Raises:
        RunLockedError: a live process on this host, or any process on another host (unless `force_unlock`),
            holds it.
    """
    if "://" in directory:
        logging.warning("%s is not a local folder: it cannot be locked against a second run writing it.", directory)
        return None
    path = os.path.join(directory, LOCK_FILE)
    me = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": _process_start(os.getpid()),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "path": path,
    }
    for _ in range(3):  # A stale lock removed by us, or by a racing run, is retried.
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _clear_or_refuse(path, me["host"], force_unlock)
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            json.dump(me, f)
        return me
    raise RunLockedError(f"Could not take the lock {path}: other runs keep taking it.")


def _clear_or_refuse(path: str, host: str, force_unlock: bool) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            holder = json.load(f)
    except FileNotFoundError:
        return  # Released meanwhile.
    except (OSError, ValueError):
        holder = {}  # Unreadable: a run killed while writing it, within microseconds of starting.
    same_host = holder.get("host") == host
    if same_host and not _alive(holder):
        logging.warning("Taking over the stale lock %s: its holder (%s) is gone.", path, _describe(holder))
    elif not same_host and force_unlock:
        logging.warning("Removing the lock %s of %s, as --force_unlock says.", path, _describe(holder))
    elif same_host:
        raise RunLockedError(
            f"{os.path.dirname(path)} is in use by another run ({_describe(holder)}): two runs in one folder "
            "overwrite each other's checkpoints. Wait for it to end, stop it, or use another folder."
        )
    else:
        raise RunLockedError(
            f"{os.path.dirname(path)} is locked by a run on another host ({_describe(holder)}), which cannot be "
            f"checked from {host}. If that run is over, pass --force_unlock; otherwise use another folder."
        )
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def release(record: Optional[dict]) -> None:
    """Removes the lock if it is still this record's."""
    if record is None:
        return
    try:
        with open(record["path"], encoding="utf-8") as f:
            holder = json.load(f)
    except (OSError, ValueError):
        return
    if holder.get("pid") == record["pid"] and holder.get("started") == record["started"]:
        os.remove(record["path"])


@contextlib.contextmanager
def hold(directory: str, force_unlock: bool = False):
    """Holds the lock of `directory` (created if missing) for the `with` block."""
    if "://" not in directory:
        os.makedirs(directory, exist_ok=True)
    record = acquire(directory, force_unlock)
    try:
        yield record
    finally:
        release(record)
