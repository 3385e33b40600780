"""New stores that segment and fine-tune from the first minute: the one way a user's store is created.

``legseg store init``, the application (started on a new store folder) and the napari plugin
(the first Accept into a new store) all create stores with :func:`create_store` (the latter two
through ``Store.open(path, create=True)``): an empty store with the shipped starter models
registered (:func:`~legseg_core.starter.ship.register_starter_models`: the starter U-Net active,
the others candidates), so that "Segment" has a model and the first "Fine-tune" has one to start
from. ``Store.init`` alone makes a store without models (tests, benchmarks, ``--no-starter-models``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from legseg_core.store import SplitConfig, Store

log = logging.getLogger(__name__)


def create_store(path: str | Path | None = None, *, splits: SplitConfig | None = None,
                 starter_models: bool = True) -> Store:
    """Create a new store at ``path`` (default location as :meth:`Store.init`) with the starter models
    registered (the starter U-Net active) unless ``starter_models`` is False."""
    store = Store.init(path, splits=splits)
    if starter_models:
        from legseg_core.starter.ship import register_starter_models

        registered = register_starter_models(store)
        if not registered:
            log.warning("no starter model is shipped beside LegSeg: the store %s has no model yet", store.root)
    return store


__all__ = ["create_store"]
