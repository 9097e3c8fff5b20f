"""Read a worker's reply without trusting it: pickle limited to Glassbox's data classes.

The worker process holds an uploaded model; were that model ever to run code there, plain
`pickle.loads` of its replies would hand the same code to the server. `loads` resolves only
the classes and constructors listed here: Glassbox's own result dataclasses and the
numpy/pandas/plotly pieces their fields are made of (found by pickling every result the
pages ask for; `tests/test_worker.py` checks that list stays complete). Anything else — a
function such as ``os.system``, ``numpy.load`` or ``pandas.read_pickle``, or a class not
listed — raises `pickle.UnpicklingError`.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("builtins", "bytearray"), ("builtins", "slice"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "complex"),
    ("components.explain.agreement", "Agreement"),
    ("components.explain.local", "Explanation"),
    ("components.explain.methods.base", "Attribution"),
    ("components.inspect.graph", "LayerGraph"), ("components.inspect.graph", "Node"),
    ("components.model.summary", "LayerRow"), ("components.model.summary", "ModelSummary"),
    ("components.model.token_input", "TokenInput"),
    ("components.inspect.layer_details", "LayerDetails"),
    ("components.explain.local", "SubjectFacts"),
    ("components.plots.model_views", "WeightsView"),
    # What the bounded parsers return (`components.model.bounded`): files as read.
    ("components.data.read", "RawData"), ("components.model.scan", "ScanReport"),
    ("components.inspect.history", "TrainingHistory"), ("collections", "Counter"),
    ("pandas", "Categorical"), ("pandas", "CategoricalDtype"), ("pandas", "BooleanDtype"),
    *(("pandas", f"{kind}{bits}Dtype") for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)),
    ("pandas", "Float32Dtype"), ("pandas", "Float64Dtype"),
    *(("pandas.arrays", name) for name in ("ArrowStringArray", "DatetimeArray",
                                           "TimedeltaArray", "IntegerArray", "BooleanArray",
                                           "FloatingArray")),
    # pyarrow-backed strings: rebuilt from buffers and a type name (data, never code).
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "py_buffer"),
    ("pyarrow.lib", "type_for_alias"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("pandas", "DataFrame"), ("pandas", "Series"), ("pandas", "Index"),
    ("pandas", "RangeIndex"), ("pandas", "StringDtype"),
    ("pandas.arrays", "StringArray"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pandas.core.internals.managers", "SingleBlockManager"),
    ("plotly._subplots", "SubplotRef"),
    ("plotly.graph_objs._figure", "Figure"),
})


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not an allowed data class")
        return super().find_class(module, name)


def loads(data: bytes) -> Any:
    """`pickle.loads` that resolves only the `ALLOWED` classes and constructors."""
    return _Restricted(io.BytesIO(data)).load()
