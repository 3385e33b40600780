"""The application window: Help > Controls and F1, and sagittal and coronal sections that grow up to the axial view."""

from __future__ import annotations

from qtpy.QtCore import Qt

from tests.gui.app_helpers import make_window, store_with_case


def test_help_lists_the_controls_and_f1_shows_them_over_the_image(qtbot, tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    window.open_case(case_id)
    assert window.actions["controls_overlay"].shortcut().toString() == "F1"
    overlay = window.view.controls_overlay
    assert not overlay.isVisible()
    window.actions["controls_overlay"].trigger()
    assert overlay.isVisible() and "zoom to the body" in overlay.text()
    qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton)
    assert not overlay.isVisible()
    window.actions["controls"].trigger()
    assert window.controls_dialog.isVisible()
    window.controls_dialog.close()


def test_the_sections_grow_up_to_the_axial_views_width_and_no_further(qtbot, tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    window.resize(1920, 1080)  # a full HD screen
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.views.width() > 1000, timeout=3000)
    splitter = window.views
    axial, sections = splitter.sizes()
    assert 0 < sections < axial
    total = axial + sections
    splitter.set_section_share(0.5)
    assert abs(splitter.sizes()[0] - splitter.sizes()[1]) <= 2
    splitter.setSizes([total // 4, total - total // 4])
    splitter.splitterMoved.emit(total // 4, 1)  # a drag past equal size snaps back to equal
    axial, sections = splitter.sizes()
    assert abs(axial - sections) <= 2
