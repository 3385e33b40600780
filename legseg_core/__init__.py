"""LegSeg core: everything that is not a widget. Importable headless; never imports Qt or napari."""

from __future__ import annotations

__version__ = "0.1.0"
