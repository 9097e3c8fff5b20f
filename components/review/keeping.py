"""The one gate between a checked upload and the workspace: refused data is never stored.

README: "Refused files are never stored." A dataset is kept only when it was read and every
check against the model passed (`Dataset.ok` and model-ready inputs); then the store also
records which model it fits, so the sidebar offers it to that model and its like only.
"""

from __future__ import annotations

from components.data.checks import Dataset
from components.review.access import Principal
from components.review.store import Artifact, Store


def keep_checked_dataset(store: Store, name: str, data: bytes, dataset: Dataset | None,
                         *, model_sha256: str, signature: str,
                         principal: Principal | None = None) -> Artifact | None:
    """Store ``data`` if ``dataset`` (what it was read as) passed every check against the
    model ``model_sha256`` (in the ``principal``'s open team); None, and nothing written,
    otherwise."""
    if dataset is None or not dataset.ok or dataset.x is None:
        return None
    return store.put_dataset(name, data, model_sha256=model_sha256, signature=signature,
                             principal=principal)
