"""The worklist shows what each case is (contrast, protocol, health, diagnosis) and fits its width, eliding texts."""

from __future__ import annotations

import json

import numpy as np

from legseg_core.io import Volume, save_image
from legseg_core.store import Store
from legseg_gui.app.metadata import metadata_defaults
from legseg_gui.app.worklist import COLUMNS, CaseListWidget
from tests.gui.app_helpers import tiny_phantom
from tests.gui.conftest import show


def test_columns_show_the_metadata_and_fit_a_narrow_list_with_the_full_text_in_tooltips(qtbot, tmp_path) -> None:
    store = Store.init(tmp_path / "store")
    image = tiny_phantom(1).images["t1w"]
    store.add_case(image, contrast="dixon_water", health="patient", diagnosis="pompe",
                   protocol="3D multi-echo Dixon, 6 echoes, whole lower leg, 1.5 mm isotropic")
    worklist = show(qtbot, CaseListWidget(), size=(360, 300))
    worklist.set_cases(store.cases())
    texts = {column: worklist.column_texts(column)[0] for column in COLUMNS}
    assert (texts["contrast"], texts["health"], texts["diagnosis"]) == ("dixon_water", "patient", "pompe")
    assert texts["protocol"].startswith("3D multi-echo Dixon")
    widths = [worklist.columnWidth(c) for c in range(len(COLUMNS))]
    assert sum(widths[c] for c in range(len(COLUMNS)) if not worklist.isColumnHidden(c)) <= worklist.viewport().width() + 2
    assert not any(worklist.isColumnHidden(COLUMNS.index(c)) for c in ("case", "contrast", "health"))
    protocol = worklist.item(0, COLUMNS.index("protocol"))
    assert worklist.columnWidth(COLUMNS.index("protocol")) < worklist.fontMetrics().horizontalAdvance(protocol.text())
    assert protocol.toolTip() == protocol.text()
    worklist.resize(1400, 300)
    qtbot.waitUntil(lambda: worklist.columnWidth(COLUMNS.index("protocol")) >=
                    worklist.fontMetrics().horizontalAdvance(protocol.text()), timeout=2000)


def test_a_scans_json_sidecar_says_what_the_case_is(tmp_path) -> None:
    volume = Volume.from_array(np.zeros((4, 8, 8), np.float32))
    scan = save_image(volume.data, volume, tmp_path / "image.nii.gz")
    assert metadata_defaults(volume, scan).contrast == "unknown"
    (tmp_path / "image.json").write_text(json.dumps({"contrast": "t1w", "health": "patient", "diagnosis": "pompe",
                                                     "protocol": "synthetic A: whole lower leg"}))
    meta = metadata_defaults(volume, scan)
    assert (meta.contrast, meta.health, meta.diagnosis, meta.protocol) == ("t1w", "patient", "pompe",
                                                                          "synthetic A: whole lower leg")
    (tmp_path / "image.json").write_text("{not json")
    assert metadata_defaults(volume, scan).health == "unknown"  # an unreadable sidecar is ignored


def test_the_demo_cases_sidecar_makes_its_metadata_known(tmp_path) -> None:
    from legseg_core.starter.demo import write_sidecar

    volume = Volume.from_array(np.zeros((4, 8, 8), np.float32))
    scan = save_image(volume.data, volume, tmp_path / "image.nii.gz")
    write_sidecar(tmp_path / "image.json", {"protocol": "A", "health": "patient", "diagnosis": "pompe"}, "t1w")
    meta = metadata_defaults(volume, scan)
    assert (meta.contrast, meta.health, meta.diagnosis, meta.protocol) == ("t1w", "patient", "pompe",
                                                                          "synthetic A: whole lower leg")
