"""A finished fine-tuning trial on disk, so that an interrupted multi-trial run resumes at its first unfinished trial.

A trial writes `trial_<k>/record.json` last, after its model, logs and scores, atomically. The file holds the trial's
record (what `results.json` lists for it) and the identity of the run that made it: everything that changes the
trial's outcome (the task, the data, the encoder, the resolved config with its seed, the outputs asked for). A later
run with the same identity reuses the record instead of training again; any difference, or a file that cannot be
read, runs the trial again and replaces it.
"""

import json
import os
from typing import Optional

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
    print(f"Trial {os.path.basename(trial_dir)}: finished before, its record is reused ({path}).", flush=True)
    return record


def save(trial_dir: str, identity: dict, record: dict) -> None:
    """Marks the trial in `trial_dir` finished, with its record; call it after everything else the trial writes."""
    tf.io.gfile.makedirs(trial_dir)
    io_utils.write_text_atomic(
        os.path.join(trial_dir, RECORD_FILE),
        json.dumps({"identity": _normal(identity), "record": record}, indent=1) + "\n",
    )
