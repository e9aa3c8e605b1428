"""TensorFlow's oneDNN CPU kernels, on by default where TensorFlow leaves them off.

TensorFlow's x86-64 builds carry oneDNN, but turn it on by themselves only where the CPU has AVX-512 VNNI or BF16, or
AMX. On an AVX2-only CPU its default is Eigen, which is much slower there for what ELECTRA runs: on the 2-core AMD
EPYC (AVX2, FMA) of 2026-12-01, oneDNN made the 4096² float32 matmul about 2× faster, the ELECTRA-Small pre-training
step about 1.5× and the exported classifier's batch-1 latency about 1.5× (medians of 3 alternated pairs).

`import electra_tf` therefore sets `TF_ENABLE_ONEDNN_OPTS=1` when TensorFlow is not imported yet, the machine is
x86-64 Linux, no NVIDIA driver is present (TensorFlow has said oneDNN is not tested enough alongside GPUs) and the
variable is not set already. TensorFlow reads it once, when it loads. `TF_ENABLE_ONEDNN_OPTS=0` keeps oneDNN off;
importing TensorFlow before electra_tf leaves TensorFlow's own choice.
"""

import os
import platform
import sys

ENV = "TF_ENABLE_ONEDNN_OPTS"


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver loaded."""
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


def use_onednn_by_default() -> bool:
    """Sets `TF_ENABLE_ONEDNN_OPTS=1` where the module docstring says; returns whether it set it."""
    if ENV in os.environ or "tensorflow" in sys.modules:
        return False
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64") or nvidia_driver_present():
        return False
    os.environ[ENV] = "1"
    return True


def onednn_enabled() -> bool:
    """Whether the loaded TensorFlow runs its oneDNN kernels (imports TensorFlow)."""
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=import-outside-toplevel

    return bool(_pywrap_util_port.IsMklEnabled())
