"""What the model workers' fork server imports once, before it forks any worker.

`components.model.worker` starts each worker as a fork of one server process (Python's
``multiprocessing`` "forkserver") that has imported TensorFlow, Keras and pandas and nothing
else: no model, no upload, no session. A worker is then ready 0.03 s after it is asked
for instead of ~5 s (TensorFlow's import), and the imported libraries' pages are shared.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow's first import

import keras  # noqa: E402,F401  # the expensive part
import pandas as pd  # noqa: E402

import components.model.load  # noqa: E402,F401  # the scanner and the loader the worker calls

# Strings as Python objects, not Arrow buffers: replies then need no pyarrow to rebuild.
pd.set_option("mode.string_storage", "python")
