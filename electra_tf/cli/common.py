"""What every electra_tf program shares: running an absl main with clear errors instead of tracebacks."""

import os
import sys
from typing import Callable

from absl import app, flags, logging

from electra_tf import errors

# Bad inputs (a missing file, a path of the wrong kind, a bad value): one line and exit status 2.
_BAD_INPUT = (
    ValueError,
    KeyError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def _exit_status(error: Exception):
    """2 for a bad input, 1 for a run that failed on its own (`RunFailedError`), None for a bug (a traceback)."""
    if isinstance(error, _BAD_INPUT):
        return 2
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(
        error,
        (
            tf.errors.DataLossError,
            tf.errors.FailedPreconditionError,
            tf.errors.PermissionDeniedError,
            tf.errors.NotFoundError,
        ),
    ):
        return 2
    if isinstance(error, errors.RunFailedError):
        return 1
    return None


def _message(error: Exception) -> str:
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.OpError):
        text = error.message.strip().splitlines()[0]
        if isinstance(error, tf.errors.DataLossError):
            text += " (a file is corrupt or truncated: rebuild it, e.g. with bin/build_pretraining_data)"
        return text
    return str(error)


def run(main: Callable[[list[str]], None]) -> None:
    """Runs `main` under absl; a bad input ends the program with its message and exit status 2, not a traceback, and a
    run that fails on its own (a non-finite loss) with its message and exit status 1.

    Set ELECTRA_TF_TRACEBACK=1 to see the traceback as well.
    """

    def guarded(argv: list[str]) -> None:
        if not flags.FLAGS["verbosity"].present:
            # TensorFlow's own INFO lines (checkpoint sharding, dataset buffers) drown the progress lines.
            logging.set_verbosity(logging.WARNING)
        try:
            main(argv)
        except Exception as e:  # pylint: disable=broad-except
            status = _exit_status(e)
            if status is None or os.environ.get("ELECTRA_TF_TRACEBACK"):
                raise
            print(f"{os.path.basename(sys.argv[0])}: error: {_message(e)}", file=sys.stderr)
            sys.exit(status)

    app.run(guarded)


def reject_positional(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}. Every input is a --flag.")


def strip_accents_flag(value: str):
    """Maps the `--strip_accents={auto,true,false}` flag to None (follow lower-casing), True or False."""
    return None if value == "auto" else value == "true"
