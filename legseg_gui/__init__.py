"""Qt widgets (through qtpy) shared by the napari plugin and the standalone LegSeg application."""
