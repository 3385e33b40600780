"""The standalone LegSeg application (``legseg app``): a review station built from the shared widgets.

- :mod:`~legseg_gui.app.launch`: options, the window, headless screenshots (:func:`run_app`);
- :mod:`~legseg_gui.app.main_window`: the window (worklist, image view, side panels, menus);
- :mod:`~legseg_gui.app.segment_runs`: segmenting off the UI thread with the work of
  :mod:`legseg_core.review` (the open case, its label editor, saving and accepting, shared with
  napari); :mod:`~legseg_gui.app.review`: reference, prediction, overlap map, live Dice;
- :mod:`~legseg_gui.app.autosave`: autosave and crash recovery; :mod:`~legseg_gui.app.opening`
  and :mod:`~legseg_gui.app.metadata_dialog`: adding scans to the store.
"""
