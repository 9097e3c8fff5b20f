"""The server process between script runs: no full garbage collection after each one.

Streamlit ends every run (a click's included) with two full collections: one for
``runner.postScriptGC`` (turned off in .streamlit/config.toml) and, once Keras is imported,
``keras.backend.clear_session()``, whose ``gc.collect()`` walks the ~450,000 objects that
TensorFlow and the explanation libraries bring: 0.6-0.7 s each on a 2-core machine, holding
the GIL, so every session stalls and a click that lands meanwhile waits. The Keras reset
also clears Keras' global state while other sessions' threads may be using it; the app
builds no models in this process, so there is nothing for it to free.
"""

from __future__ import annotations

import gc
import sys

from streamlit.runtime.scriptrunner import script_runner

_frozen = False


def _close_figures() -> None:
    """The half of Streamlit's after-run cleanup worth keeping: open pyplot figures."""
    if (plt := sys.modules.get("matplotlib.pyplot")) is not None:
        plt.close("all")


def keep_runs_light() -> None:
    """Replace Streamlit's after-run cleanup with `_close_figures`, and once TensorFlow is
    imported, move every object alive then (the libraries' own) out of the collector's
    sight (`gc.freeze`): later automatic collections walk only what the runs create."""
    global _frozen
    script_runner._clean_problem_modules = _close_figures
    if not _frozen and "tensorflow" in sys.modules:
        gc.freeze()
        _frozen = True
