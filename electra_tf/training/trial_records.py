"""A finished fine-tuning trial on disk, so that an interrupted multi-trial run resumes at its first unfinished trial.

A trial writes `trial_<k>/record.json` last, after its model, logs and scores, atomically. The file holds the trial's
record (what `results.json` lists for it) and the identity of the run that made it: the task, where the data is and
how many training examples it gave, the encoder (its path and its files' sizes and times), the resolved config with
its seed, the outputs asked for, and electra_tf's version. A later run with the same identity reuses the record
instead of training again; any difference, or a file that cannot be read, runs the trial again and replaces it. The
data's contents are not fingerprinted: a changed file under the same path with the same example count is not seen.
"""

import json
import os
from typing import Callable, Optional

import tensorflow as tf
from absl import logging

from electra_tf import io_utils

RECORD_FILE = "record.json"


def _normal(identity: dict) -> dict:
    """The identity as JSON reads it back (tuples become lists), so a fresh one compares equal to a stored one."""
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


def finished(trial_dir: str, identity: dict) -> Optional[dict]:
    """The record of a trial finished in `trial_dir` by a run with `identity`, or None if it must run."""
    path = os.path.join(trial_dir, RECORD_FILE)
    if not tf.io.gfile.exists(path):
        return None
    try:
        with tf.io.gfile.GFile(path) as f:
            stored = json.load(f)
        same = stored["identity"] == _normal(identity)
        record = stored["record"]
    except (OSError, tf.errors.OpError, ValueError, KeyError, TypeError) as error:
        logging.warning("%s cannot be read (%s); the trial runs again.", path, error)
        return None
    if not same:
        logging.info("%s was made by a different run (config, data or encoder); the trial runs again.", path)
        return None
    print(f"{os.path.basename(trial_dir)} finished in an earlier run; its record is reused ({path}).", flush=True)
    return record


def reuse_or_run(trial_dir: str, identity: dict, run: Callable[[], dict]) -> dict:
    """The trial's record: reused if a run with `identity` finished it, else `run()`'s, marked finished after it.

    The old mark is removed before `run()` starts, so an interrupted run never leaves another run's record beside
    its own partly written files."""
    record = finished(trial_dir, identity)
    if record is not None:
        return record
    path = os.path.join(trial_dir, RECORD_FILE)
    if tf.io.gfile.exists(path):
        tf.io.gfile.remove(path)
    record = run()
    save(trial_dir, identity, record)
    return record


def normal_path(path: Optional[str]) -> Optional[str]:
    """A local path made absolute, so two spellings of one folder compare equal; URLs (gs://) as given."""
    return path if path is None or "://" in path else os.path.abspath(path)


def encoder_fingerprint(encoder_dir: str) -> dict:
    """What the encoder at `encoder_dir` is, not only where: its saved files' names, sizes and modification times
    (a re-exported or re-trained encoder at the same path is another encoder), and electra_tf's version."""
    import electra_tf  # pylint: disable=import-outside-toplevel

    files = {}
    if tf.io.gfile.isdir(encoder_dir):
        for name in sorted(tf.io.gfile.listdir(encoder_dir)):
            stat = tf.io.gfile.stat(os.path.join(encoder_dir, name))
            files[name] = [stat.length, stat.mtime_nsec]
    return {"path": normal_path(encoder_dir), "files": files, "electra_tf": electra_tf.__version__}


def save(trial_dir: str, identity: dict, record: dict) -> None:
    """Marks the trial in `trial_dir` finished, with its record; call it after everything else the trial writes."""
    tf.io.gfile.makedirs(trial_dir)
    io_utils.write_text_atomic(
        os.path.join(trial_dir, RECORD_FILE),
        json.dumps({"identity": _normal(identity), "record": record}, indent=1) + "\n",
    )
