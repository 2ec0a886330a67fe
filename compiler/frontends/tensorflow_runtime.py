"""Import TensorFlow/Keras once, without its C++ start-up chatter on the user's terminal.

TensorFlow 2.21 writes oneDNN/CUDA/CPU-feature notices to file descriptor 2 from C++
before absl logging is initialised, so TF_CPP_MIN_LOG_LEVEL does not silence them. The
CLI promises one line on stderr for a bad input, so the import runs with fd 2 pointed at
/dev/null (restored afterwards, also on failure).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def import_keras_quietly() -> None:
    """Import tensorflow and keras with stderr muted at the file-descriptor level."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
