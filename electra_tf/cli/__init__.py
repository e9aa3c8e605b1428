"""The absl programs behind `bin/` and the `electra-*` console scripts: flags in, one library call, a summary out.

Importing this package quiets TensorFlow's start-up before TensorFlow is imported. The lines it writes while loading
(oneDNN, CUDA drivers, CPU features) and, on a machine without a GPU, an error-level `failed call to cuInit` read
like failures to a new user and say nothing the user needs. They are captured while TensorFlow loads and looks for
devices, and shown after all when the import fails or when the machine has an NVIDIA driver but TensorFlow found no
GPU. Later, TensorFlow's C++ INFO lines stay hidden (`TF_CPP_MIN_LOG_LEVEL=1`, as before); its warnings and errors
show. Passing absl's `--verbosity` (or `-v`, `--v`) to a program shows everything, C++ and Python INFO logs included.
"""

import os
import sys
import tempfile

from electra_tf import onednn


def wants_full_log(argv: list) -> bool:
    """Whether the command line asks for the full log (`--verbosity=N`, `--verbosity N`, `-v N`, `--v=N`)."""
    names = ("-v", "--v", "--verbosity")
    return any(arg in names or arg.startswith(tuple(name + "=" for name in names)) for arg in argv[1:])


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow and lists its devices with the process's stderr (file descriptor 2) going to a temporary
    file, since its C++ start-up lines are written before any log level applies. The captured lines are replayed if
    the import fails, or if an NVIDIA driver is present and no GPU was found."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed, gpus = True, []
        try:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel

            gpus = tf.config.list_physical_devices("GPU")  # Where the cuInit error of a CPU-only machine is written.
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed or (not gpus and onednn.nvidia_driver_present()):
                captured.seek(0)
                sys.stderr.write(captured.read().decode("utf-8", "replace"))
                sys.stderr.flush()


if wants_full_log(sys.argv):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
else:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if "tensorflow" not in sys.modules:
        _import_tensorflow_quietly()
