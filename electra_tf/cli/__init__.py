"""The absl programs behind `bin/` and the `electra-*` console scripts: flags in, one library call, a summary out.

Importing this package quiets TensorFlow's start-up before TensorFlow is imported: the lines it writes while loading
(oneDNN, CUDA drivers, CPU features) and an error-level `failed call to cuInit` on a machine without a GPU read
like failures to a new user, and say nothing the user needs. Passing absl's `--verbosity` (any value) to a program
brings all of them back, with TensorFlow's C++ INFO logs and the Python INFO logs.
"""

import os
import sys


def wants_full_log(argv: list) -> bool:
    """Whether the command line asks for the full log (`--verbosity=N`, `--verbosity N`, `-v N`)."""
    return any(arg in ("-v", "--verbosity") or arg.startswith(("--verbosity=", "-v=")) for arg in argv[1:])


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with the process's stderr (file descriptor 2) sent to /dev/null: its C++ start-up lines are
    written before its log level applies. An import that fails raises as usual, after stderr is restored."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if wants_full_log(sys.argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
else:
    # Level 3 also hides the cuInit error of the first op; TensorFlow's failures still reach the user as exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        _import_tensorflow_quietly()
