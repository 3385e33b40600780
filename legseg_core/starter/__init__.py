"""The starter models shipped in ``assets/models`` and the ``legseg demo`` that shows one at work.

- :mod:`.demo`: :func:`run_demo` simulates a synthetic patient, segments it with a shipped
  model (the starter U-Net by default), scores it against its ground truth and writes labels,
  the Figure 4 overlap map and a per-muscle Dice table;
- :mod:`.show`: opens the standalone app on a demo result, or draws a screenshot of it;
- :mod:`.ship`: turns a trained model file into a shipped one (half-precision weights, the
  model card with its data, recipe, commands and metrics) and registers the shipped models as
  the initial models of a new store;
- :mod:`.stores`: :func:`~legseg_core.starter.stores.create_store`, the one way a user's store is
  made (command line, application, napari), with the starter models registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.starter.demo import DEFAULT_DEMO_MODEL, DemoCase, DemoResult, run_demo

__all__ = ["DEFAULT_DEMO_MODEL", "DemoCase", "DemoResult", "run_demo"]
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "demo"))
