"""The absl programs behind `bin/` and the `electra-*` console scripts: flags in, one library call, a summary out."""

import os

# Keep TensorFlow's C++ info lines out of the programs' output (and the progress bar); warnings still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
