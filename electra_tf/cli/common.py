"""What every electra_tf program shares: running an absl main with clear errors instead of tracebacks."""

import os
import sys
from typing import Callable

from absl import app, flags, logging


def run(main: Callable[[list[str]], None]) -> None:
    """Runs `main` under absl; a bad input ends the program with its message and exit status 2, not a traceback.

    Set ELECTRA_TF_TRACEBACK=1 to see the traceback as well.
    """

    def guarded(argv: list[str]) -> None:
        if not flags.FLAGS["verbosity"].present:
            # TensorFlow's own INFO lines (checkpoint sharding, dataset buffers) drown the progress lines.
            logging.set_verbosity(logging.WARNING)
        try:
            main(argv)
        except (ValueError, FileNotFoundError, KeyError) as e:
            if os.environ.get("ELECTRA_TF_TRACEBACK"):
                raise
            program = os.path.basename(sys.argv[0])
            print(f"{program}: error: {e}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)


def reject_positional(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}. Every input is a --flag.")


def strip_accents_flag(value: str):
    """Maps the `--strip_accents={auto,true,false}` flag to None (follow lower-casing), True or False."""
    return None if value == "auto" else value == "true"
