"""Quality-control reports kept with label versions in the store: written, read per version and per case,
replaced, refused for an unknown version, and added to an older catalog by its migration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.errors import StoreError
from legseg_core.evaluation.qc import check_segmentation
from legseg_core.store import Store
from legseg_core.store.quality import case_qualities, record_quality, version_quality
from legseg_core.io import Volume


def calf_volume() -> Volume:
    """A scan grid of two small legs side by side: 8 x 40 x 80 voxels of 5 x 2 x 2 mm."""
    return Volume.from_array(np.zeros((8, 40, 80), np.float32), spacing=(5.0, 2.0, 2.0))


def two_leg_labels(shape: tuple[int, int, int], *, gm_on_the_left: bool = True) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    width = shape[2]
    for start in (1, width // 2 + 1):
        labels[:, 2:-2, start:start + width // 2 - 3] = 3
        labels[:, 2:8, start:start + 6] = 2
    if not gm_on_the_left:
        labels[:, :, width // 2:][labels[:, :, width // 2:] == 2] = 3
    return labels


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.init(tmp_path / "store")


def test_a_report_is_kept_with_its_version_and_the_newest_one_per_case_is_read(store: Store) -> None:
    volume = calf_volume()
    case = store.add_case(volume)
    first = store.add_label_version(case.id, two_leg_labels(volume.shape), provenance="predicted:m")
    labels = two_leg_labels(volume.shape, gm_on_the_left=False)
    second = store.add_label_version(case.id, labels, provenance="predicted:m")
    assert case_qualities(store) == {} and version_quality(store, first.id) is None
    record_quality(store, first.id, check_segmentation(two_leg_labels(volume.shape), volume.spacing))
    report = check_segmentation(labels, volume.spacing, uncertainty=np.full(volume.shape, 0.25, np.float32))
    stored = record_quality(store, second.id, report)
    assert stored.flag_count == len(report.flags) > 0 and stored.effort == report.effort
    missing = {flag.rsplit(" in the ", 1)[1].split()[0]: flag for flag in stored.flags if flag.startswith("missing:")}
    assert " GM," in missing["left"] and " GM," not in missing["right"]  # GM drawn in the right leg only
    assert case_qualities(store)[case.id] == version_quality(store, second.id) == stored
    assert stored.uncertainty == pytest.approx(0.25) and stored.report == report.to_dict()
    again = record_quality(store, second.id, check_segmentation(labels, volume.spacing))
    assert version_quality(store, second.id) == again and again.uncertainty is None


def test_a_report_for_an_unknown_version_is_refused(store: Store) -> None:
    volume = calf_volume()
    report = check_segmentation(two_leg_labels(volume.shape), volume.spacing)
    with pytest.raises(StoreError, match="lv-000000000000 is not in the store"):
        record_quality(store, "lv-000000000000", report)
    with pytest.raises(StoreError, match="not a label-version id"):
        record_quality(store, "case-1", report)


def test_a_catalog_without_the_quality_table_gets_it_on_opening(store: Store) -> None:
    store.catalog.write(lambda c: (c.execute("DROP TABLE label_quality"),
                                   c.execute("DELETE FROM schema_migrations WHERE version = 2")))
    store.close()
    reopened = Store.open(store.root)
    assert reopened.catalog.schema_version() == 2 and case_qualities(reopened) == {}
    reopened.close()
