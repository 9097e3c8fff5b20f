"""Model workers forked from one process that has imported TensorFlow: Python's forkserver,
minus the parent's main module.

`multiprocessing`'s "forkserver" start method runs one server process that imports the
modules it is told to preload (`components.model.worker_preload`: TensorFlow, Keras, pandas)
and forks a child per `Process.start()`, reaping it and handing back its exit code. A worker
then costs a fork instead of TensorFlow's ~5 s import. Stock, each child would also run the
parent's ``__main__`` again (as ``__mp_main__``): under Streamlit that is the app's own script,
under a test runner or a user's script something else again; a worker must run none of them,
so `_Popen` leaves the main module out of what the child prepares. The rest is CPython 3.11's
`multiprocessing.popen_forkserver.Popen._launch`, line for line.
"""

from __future__ import annotations

import io
import os
from multiprocessing import context, forkserver, popen_forkserver, spawn, util
from typing import Any

forkserver.set_forkserver_preload(["components.model.worker_preload"])


class _Popen(popen_forkserver.Popen):
    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        for key in ("init_main_from_path", "init_main_from_name"):
            prep_data.pop(key, None)  # the one change: never re-run the parent's __main__
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            context.reduction.dump(prep_data, buf)
            context.reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        # a duplicate of the data pipe's write end: the child's sentinel of this process
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class WorkerProcess(context.ForkServerProcess):
    """A `multiprocessing.Process` forked from the preloaded fork server."""

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)
