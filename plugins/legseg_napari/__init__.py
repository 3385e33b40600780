"""napari glue for LegSeg: manifest, reader, writer, sample data and dock widgets.

- Reader (``_reader``): NIfTI files and DICOM folders; scans open as image layers with their
  spacing as scale, label files as labels layers in the muscle colours.
- Writer (``_writer``): a labels layer to NIfTI on the grid of the scan it was drawn on.
- Sample data (``_sample``): a synthetic bilateral calf with its ground-truth labels.
- Docks (``_qt``): Segment (model, device, worker with progress and cancel, models compared side
  by side), Review (overlap map, live per-muscle scores, 3D view), Correct and accept (a copy to
  paint on, Accept into the store, autosave and recovery), Fine-tune (``legseg finetune`` in
  its own process).

The science lives in ``legseg_core``; the shared widgets in ``legseg_gui``. What a layer carries
for the docks is described in ``_layers``.
"""
