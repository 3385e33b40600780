"""The store's Python API: cases, immutable label versions, provenance, splits, paths and errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from legseg_core.errors import GridMismatchError, ImageValueError, StoreError
from legseg_core.io import Volume, load_volume, save_labels
from legseg_core.store import (CaseMetadata, DuplicateCaseError, SplitConfig, Store, StoreIntegrityError,
                               StoreMissingError, StoreVersionError, UnknownRecordError, default_store_path,
                               resolve_store_path)
from legseg_core.store.location import user_data_directory
from legseg_core.store.naming import inside
from legseg_core.store.splits import assign_split

SHAPE = (3, 6, 5)


def tiny_volume(seed: int = 0, shape: tuple[int, int, int] = SHAPE) -> Volume:
    """A small [z, y, x] scan, different for every seed."""
    data = np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)
    return Volume.from_array(data, (4.0, 1.0, 0.8), origin=(1.0, 2.0, 3.0))


def tiny_labels(fill: int = 3, shape: tuple[int, int, int] = SHAPE) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    labels[1:, 1:4, 1:4] = fill
    return labels


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.init(tmp_path / "store") as opened:
        yield opened


# ---- creating, opening, locating ------------------------------------------------------------


def test_open_without_a_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreMissingError, match="create one with `legseg store init --store"):
        Store.open(tmp_path / "nothing")
    created = Store.open(tmp_path / "made", create=True)
    assert (tmp_path / "made" / "catalog.sqlite").is_file() and created.cases() == []


def test_init_refuses_an_existing_store_and_a_non_empty_folder(tmp_path: Path, store: Store) -> None:
    with pytest.raises(StoreError, match="a LegSeg store exists here already"):
        Store.init(store.root)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an empty folder"):
        Store.init(tmp_path / "busy")


def test_location_prefers_explicit_path_then_environment_then_user_data(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LEGSEG_STORE", raising=False)
    if user_data_directory().is_relative_to(tmp_path):  # Linux and other XDG platforms
        assert default_store_path() == tmp_path / "xdg" / "legseg" / "store"
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "from-env"))
    assert resolve_store_path(None) == tmp_path / "from-env"
    assert resolve_store_path(tmp_path / "explicit") == tmp_path / "explicit"


def test_a_catalog_from_a_newer_legseg_is_refused(store: Store) -> None:
    store.catalog.write(lambda c: c.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'then')"))
    store.close()
    with pytest.raises(StoreVersionError, match="schema version 99 is newer"):
        Store.open(store.root)


def test_opening_an_older_catalog_applies_the_missing_migrations(store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from legseg_core.store import catalog

    case = store.add_case(tiny_volume())
    store.close()
    following = catalog.SCHEMA_VERSION + 1
    step = (following, "cases get a laterality column",
            "ALTER TABLE cases ADD COLUMN laterality TEXT NOT NULL DEFAULT ''")
    before = [(version, description) for version, description, _ in catalog.MIGRATIONS]
    monkeypatch.setattr(catalog, "MIGRATIONS", (*catalog.MIGRATIONS, step))
    monkeypatch.setattr(catalog, "SCHEMA_VERSION", following)
    reopened = Store.open(store.root)
    assert reopened.catalog.schema_version() == following and reopened.case(case.id).id == case.id
    applied = reopened.catalog.read(lambda c: c.execute("SELECT version, description FROM schema_migrations").fetchall())
    assert [tuple(row) for row in applied] == [*before, (following, "cases get a laterality column")]
    reopened.close()


def test_a_file_that_is_not_a_catalog_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "catalog.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a LegSeg catalog"):
        Store.open(tmp_path / "bad")


# ---- cases -------------------------------------------------------------------------------------


def test_add_case_keeps_metadata_grid_and_image(store: Store) -> None:
    volume = tiny_volume()
    case = store.add_case(volume, contrast="Dixon water", health="control", diagnosis="", protocol="B",
                          site="site 1", scanner="3T", notes="left leg only", extra={"fat_fraction_SOL": 0.04})
    assert case.id.startswith("case-") and len(case.id) == 17
    assert (case.metadata.contrast, case.metadata.health) == ("dixon_water", "healthy")
    assert case.shape == SHAPE and case.spacing == pytest.approx((4.0, 1.0, 0.8)) and case.slices == 3
    assert case.field_of_view_mm == pytest.approx((12.0, 6.0, 4.0))
    assert case.status == "new" and case.version_count == 0 and case.split in ("train", "validation", "test")
    assert case.metadata.extra == {"fat_fraction_SOL": 0.04}
    loaded = store.load_image(case.id)
    np.testing.assert_array_equal(loaded.data, volume.data)
    np.testing.assert_allclose(loaded.affine, volume.affine, atol=1e-4)
    assert store.case(case.id) == case


def test_metadata_object_and_keyword_fields_combine(store: Store) -> None:
    case = store.add_case(tiny_volume(), metadata=CaseMetadata(contrast="PD", site="centre 3"), health="patient")
    assert (case.metadata.contrast, case.metadata.site, case.metadata.health) == ("pd", "centre 3", "patient")


@pytest.mark.parametrize("fields, message", [
    ({"health": "sick"}, "health status 'sick' is not one of healthy, patient, unknown"),
    ({"contrast": "t1w; DROP TABLE"}, "contrast 't1w; DROP TABLE' is not a short name"),
    ({"colour": "red"}, "unknown case metadata colour"),
    ({"site": "x" * 300}, "site 'xxx.*is 300 characters long"),
    ({"extra": {"fat fraction": 1}}, "extra metadata key 'fat fraction'"),
    ({"extra": {"ok": [1, 2]}}, r"extra metadata ok=\[1, 2\] must be a number or a short text"),
])
def test_bad_metadata_is_refused_with_the_value(store: Store, fields: dict, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.add_case(tiny_volume(), **fields)
    assert store.cases() == [] and not any((store.root / "cases").iterdir())


def test_the_same_image_is_not_added_twice_unless_asked(store: Store) -> None:
    first = store.add_case(tiny_volume(1))
    with pytest.raises(DuplicateCaseError, match=f"in the store already as {first.id}") as caught:
        store.add_case(tiny_volume(1))
    assert caught.value.case_id == first.id
    second = store.add_case(tiny_volume(1), allow_duplicate=True)
    assert second.id != first.id and len(store.cases()) == 2


def test_extra_images_must_share_the_grid_and_have_safe_names(store: Store) -> None:
    volume = tiny_volume()
    case = store.add_case(volume, extra_images={"dixon_fat": volume.with_data(volume.data * 0.5)})
    assert case.images == ("image", "dixon_fat")
    np.testing.assert_allclose(store.load_image(case.id, "dixon_fat").data, volume.data * 0.5)
    other_grid = tiny_volume(2, shape=(3, 6, 6))
    with pytest.raises(GridMismatchError, match="image 'dixon_water' do not share the grid"):
        store.add_case(tiny_volume(3), extra_images={"dixon_water": other_grid})
    for name in ("../evil", "a/b", "..", "", "x" * 41, "fat.nii"):
        with pytest.raises(StoreError, match="is not allowed"):
            store.add_case(tiny_volume(4), extra_images={name: volume})
    with pytest.raises(StoreError, match="'labels' is reserved"):
        store.add_case(tiny_volume(4), extra_images={"labels": volume})
    with pytest.raises(UnknownRecordError, match="has no image named 'dixon_water'"):
        store.load_image(case.id, "dixon_water")


def test_ids_from_user_input_cannot_reach_outside_the_store(store: Store) -> None:
    case = store.add_case(tiny_volume())
    for bad in ("../../etc/passwd", "case-../../x", case.id + "/../..", "/tmp", case.id.upper()):
        with pytest.raises(UnknownRecordError, match="is not a case id"):
            store.case(bad)
        with pytest.raises(UnknownRecordError, match="is not a case id"):
            store.add_label_version(bad, tiny_labels())
    for bad in ("lv-../../../etc", "../lv-000000000000", "lv-0000000000zz"):
        with pytest.raises(UnknownRecordError, match="is not a label-version id"):
            store.load_labels(bad)
    with pytest.raises(UnknownRecordError, match="no case case-000000000000"):
        store.case("case-000000000000")
    for relative in ("../outside.nii.gz", "cases/../../outside", "/etc/passwd", "."):
        with pytest.raises(StoreError, match="outside the store"):
            inside(store.root, relative)


def test_filters_select_cases_and_refuse_unknown_fields(store: Store) -> None:
    store.add_case(tiny_volume(1), contrast="t1w", health="healthy", protocol="A")
    store.add_case(tiny_volume(2), contrast="t1w", health="patient", diagnosis="Pompe", protocol="B")
    store.add_case(tiny_volume(3), contrast="dixon_fat", health="patient", diagnosis="IBM", protocol="B")
    assert len(store.cases(contrast="T1w")) == 2
    assert [c.metadata.diagnosis for c in store.cases(health="patient", protocol="B")] == ["Pompe", "IBM"]
    assert len(store.cases(diagnosis=["Pompe", "IBM"])) == 2
    assert store.cases(status="accepted") == []
    with pytest.raises(StoreError, match="cannot filter cases by 'patient_name'"):
        store.cases(patient_name="x")
    with pytest.raises(StoreError, match="review status 'done' is not one of"):
        store.cases(status="done")
    with pytest.raises(StoreError, match="split 'holdout' is not one of"):
        store.cases(split="holdout")


def test_metadata_can_change_but_the_split_stays(store: Store) -> None:
    case = store.add_case(tiny_volume(), contrast="t1w", health="unknown")
    changed = store.update_metadata(case.id, health="patient", diagnosis="DM1", notes="confirmed")
    assert (changed.metadata.health, changed.metadata.diagnosis, changed.split) == ("patient", "DM1", case.split)
    assert any(e["action"] == "metadata" and "DM1" in e["detail"] for e in store.events(case.id))


def test_source_names_are_kept_only_as_a_salted_hash(store: Store, tmp_path: Path) -> None:
    volume = tiny_volume()
    path = tmp_path / "Doe_Jane_1970.nii.gz"
    save_labels(np.zeros(SHAPE, np.uint8), volume, tmp_path / "unused.nii.gz")
    from legseg_core.io import save_image

    save_image(volume.data, volume, path)
    case = store.add_case(path, contrast="t1w")
    assert case.source_name_sha256 and "Doe" not in case.source_name_sha256
    assert [c.id for c in store.find_by_source_name("Doe_Jane_1970.nii.gz")] == [case.id]
    assert store.find_by_source_name("someone_else.nii.gz") == []
    catalog = (store.root / "catalog.sqlite").read_bytes() + _wal(store)
    assert b"Doe_Jane" not in catalog


def _wal(store: Store) -> bytes:
    wal = store.root / "catalog.sqlite-wal"
    return wal.read_bytes() if wal.exists() else b""


# ---- label versions ----------------------------------------------------------------------------


def test_label_versions_record_provenance_counts_and_edits(store: Store) -> None:
    case = store.add_case(tiny_volume())
    first = store.add_label_version(case.id, tiny_labels(3), author="reader 1")
    assert first.parent_id is None and first.provenance == "manual" and first.author == "reader 1"
    assert first.voxels["SOL"] == 2 * 3 * 3 and first.voxels["GL"] == 0
    assert first.edits.added["SOL"] == 18 and first.edits.slices_touched == (1, 2)
    corrected = tiny_labels(3)
    corrected[2, 1, 1] = 1
    corrected[1, 2, 2] = 0
    second = store.add_label_version(case.id, corrected, provenance=f"corrected:{first.id}", note="GL tip")
    assert second.parent_id == first.id and second.provenance == f"corrected:{first.id}"
    assert second.edits.added == {"GL": 1, "GM": 0, "SOL": 0, "TA": 0, "PER": 0, "EDL": 0, "TP": 0}
    assert second.edits.removed["SOL"] == 2 and second.edits.changed_voxels == 2
    assert second.edits.slices_touched == (1, 2) and second.note == "GL tip"
    assert [v.id for v in store.history(case.id)] == [first.id, second.id]
    np.testing.assert_array_equal(store.load_labels(first.id), tiny_labels(3))
    np.testing.assert_array_equal(store.load_labels(second.id), corrected)
    after = store.case(case.id)
    assert (after.status, after.version_count, after.latest_version) == ("in_review", 2, second.id)


def test_label_versions_are_immutable_in_the_catalog(store: Store) -> None:
    case = store.add_case(tiny_volume())
    version = store.add_label_version(case.id, tiny_labels())
    with pytest.raises(sqlite3.IntegrityError, match="label versions are immutable"):
        store.catalog.write(lambda c: c.execute("UPDATE label_versions SET author = 'someone' WHERE id = ?",
                                                (version.id,)))
    with pytest.raises(sqlite3.IntegrityError, match="label versions are immutable"):
        store.catalog.write(lambda c: c.execute("DELETE FROM label_versions"))
    assert store.version(version.id) == version


@pytest.mark.parametrize("provenance, message", [
    ("automatic", "provenance 'automatic' must be manual, predicted:<model id>"),
    ("predicted", "needs a reference: predicted:<model id>"),
    ("corrected:", "needs a reference: corrected:<label-version id>"),
    ("manual:someone", "'manual' takes no reference"),
    ("predicted:unet lite", "provenance reference 'unet lite' must be"),
    ("corrected:lv-000000000000", "no label version lv-000000000000"),
    ("corrected:../x", r"provenance reference '\.\./x' must be"),
    ("corrected:case-000000000000", "'case-000000000000' is not a label-version id"),
])
def test_bad_provenance_is_refused(store: Store, provenance: str, message: str) -> None:
    case = store.add_case(tiny_volume())
    with pytest.raises(StoreError, match=message):
        store.add_label_version(case.id, tiny_labels(), provenance=provenance)
    assert store.history(case.id) == []


def test_parents_must_belong_to_the_case_and_agree_with_a_correction(store: Store) -> None:
    one, two = store.add_case(tiny_volume(1)), store.add_case(tiny_volume(2))
    version_one = store.add_label_version(one.id, tiny_labels())
    version_two = store.add_label_version(two.id, tiny_labels(), provenance="predicted:unet-lite-v1")
    with pytest.raises(StoreError, match=f"{version_one.id} belongs to {one.id}, not to {two.id}"):
        store.add_label_version(two.id, tiny_labels(), parent=version_one.id)
    with pytest.raises(StoreError, match="a correction's parent is the version it corrects"):
        store.add_label_version(two.id, tiny_labels(), provenance=f"corrected:{version_two.id}",
                                parent=version_one.id)
    child = store.add_label_version(two.id, tiny_labels(4), parent=version_two.id)
    assert child.parent_id == version_two.id and child.edits.changed_voxels == 18


def test_labels_off_the_grid_or_out_of_range_are_refused(store: Store, tmp_path: Path) -> None:
    case = store.add_case(tiny_volume())
    with pytest.raises(GridMismatchError, match=r"labels of shape \(3, 6, 6\) do not fit the image grid \(3, 6, 5\)"):
        store.add_label_version(case.id, np.zeros((3, 6, 6), np.uint8))
    with pytest.raises(ImageValueError, match="label values must lie in 0..7, found 0..9"):
        store.add_label_version(case.id, tiny_labels(9))
    with pytest.raises(ImageValueError, match="labels must be whole numbers"):
        store.add_label_version(case.id, tiny_labels().astype(np.float32) + 0.5)
    shifted = Volume.from_array(tiny_labels(), (4.0, 1.0, 0.8), origin=(9.0, 2.0, 3.0))
    with pytest.raises(GridMismatchError, match="do not share the grid"):
        store.add_label_version(case.id, shifted)
    save_labels(tiny_labels(), shifted, tmp_path / "shifted.nii.gz")
    with pytest.raises(GridMismatchError, match="shifted.nii.gz do not share the grid"):
        store.add_label_version(case.id, tmp_path / "shifted.nii.gz")
    assert store.history(case.id) == []
    on_grid = tiny_volume().with_data(tiny_labels(2))
    save_labels(on_grid.data, on_grid, tmp_path / "ok.nii.gz")
    from_file = store.add_label_version(case.id, tmp_path / "ok.nii.gz")
    assert from_file.voxels["GM"] == 18


def test_accept_status_and_accepted_cases(store: Store) -> None:
    case = store.add_case(tiny_volume(), contrast="t1w", health="healthy")
    with pytest.raises(StoreError, match="has no label version to accept"):
        store.accept(case.id)
    first = store.add_label_version(case.id, tiny_labels(3))
    second = store.add_label_version(case.id, tiny_labels(4), parent=first.id)
    assert store.accept(case.id).accepted_version == second.id
    assert store.accept(case.id, first.id).accepted_version == first.id
    assert [c.id for c in store.accepted_cases(split=case.split)] == [case.id]
    other = store.add_case(tiny_volume(9))
    foreign = store.add_label_version(other.id, tiny_labels())
    with pytest.raises(StoreError, match=f"{foreign.id} belongs to {other.id}"):
        store.accept(case.id, foreign.id)
    with pytest.raises(StoreError, match="accept a case with accept"):
        store.set_status(case.id, "accepted")
    excluded = store.set_status(case.id, "excluded", reason="motion artefact")
    assert excluded.status == "excluded" and excluded.accepted_version == first.id
    assert store.accepted_cases(split=None) == []
    assert [e["action"] for e in store.events(case.id)] == ["added", "labelled", "labelled", "accepted", "accepted",
                                                          "status excluded"]


# ---- splits ------------------------------------------------------------------------------------


def test_splits_are_stratified_by_contrast_and_health_and_sticky(store: Store) -> None:
    for seed in range(20):
        store.add_case(tiny_volume(seed), contrast="t1w", health="healthy")
    for seed in range(20, 27):
        store.add_case(tiny_volume(seed), contrast="dixon_water", health="patient")
    healthy = [c.split for c in store.cases(contrast="t1w")]
    assert (healthy.count("train"), healthy.count("validation"), healthy.count("test")) == (14, 3, 3)
    patients = [c.split for c in store.cases(contrast="dixon_water")]
    assert patients.count("validation") >= 1 and patients.count("test") >= 1 and patients.count("train") >= 4
    before = {c.id: c.split for c in store.cases()}
    for seed in range(27, 37):
        store.add_case(tiny_volume(seed), contrast="t1w", health="healthy")
    assert all(store.split_of(case_id) == split for case_id, split in before.items())
    summary = store.summary()
    assert summary.table == {"t1w": {"healthy": 30}, "dixon_water": {"patient": 7}}
    assert summary.cases == 37 and sum(summary.by_split.values()) == 37
    assert "t1w" in summary.format() and "total" in summary.format()


def test_split_assignment_rule_and_configuration() -> None:
    config = SplitConfig()
    assert assign_split("case-000000000001", {}, config) == "train"
    assert assign_split("case-000000000001", {"train": 1}, config) == "train"
    tie = {"train": 2}
    assert assign_split("case-000000000001", tie, config) == assign_split("case-000000000001", tie, config)
    assert {assign_split(f"case-{n:012x}", tie, config) for n in range(40)} == {"validation", "test"}
    assert SplitConfig.parse("80/10/10") == SplitConfig(0.8, 0.1, 0.1)
    assert assign_split("case-000000000001", {"train": 5}, SplitConfig.parse("1,0,0")) == "train"
    with pytest.raises(StoreError, match="must be three numbers"):
        SplitConfig.parse("70/30")
    with pytest.raises(StoreError, match="must each lie in 0..1 and sum to 1"):
        SplitConfig(0.5, 0.3, 0.3)
    with pytest.raises(StoreError, match="the train share must be above 0"):
        SplitConfig(0.0, 0.5, 0.5)


def test_split_shares_are_kept_by_the_store(tmp_path: Path) -> None:
    Store.init(tmp_path / "s", splits=SplitConfig.parse("50/50/0")).close()
    reopened = Store.open(tmp_path / "s")
    assert reopened.splits == SplitConfig(0.5, 0.5, 0.0)
    splits = [reopened.add_case(tiny_volume(seed)).split for seed in range(6)]
    assert sorted(splits) == ["train"] * 3 + ["validation"] * 3


# ---- files -------------------------------------------------------------------------------------


def test_damaged_files_are_never_read(store: Store) -> None:
    case = store.add_case(tiny_volume())
    version = store.add_label_version(case.id, tiny_labels())
    path = store.label_path(version.id)
    damaged = bytearray(path.read_bytes())
    damaged[-5] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreIntegrityError, match="does not match the catalog"):
        store.load_labels(version.id)
    store.image_path(case.id).unlink()
    with pytest.raises(StoreIntegrityError, match="cannot be read"):
        store.load_image(case.id)


def test_real_case_round_trips_through_the_store(store: Store, real_case, real_data: Path) -> None:
    image, labels, _ = real_case
    case = store.add_case(image, contrast="dwi", health="healthy")
    version = store.add_label_version(case.id, labels.data, provenance="manual")
    expected = {abbr: int((labels.data == muscle).sum())
                for muscle, abbr in enumerate(("GL", "GM", "SOL", "TA", "PER", "EDL", "TP"), start=1)}
    assert version.voxels == expected and expected["SOL"] > expected["TP"]
    np.testing.assert_array_equal(store.load_labels(version.id), labels.data)
    stored = load_volume(store.label_path(version.id))
    np.testing.assert_allclose(stored.affine, image.affine, atol=1e-4)
    assert case.technical["source_orientation"] == "RAS"
    with pytest.raises(GridMismatchError, match="do not share the grid of dwi_mean"):
        store.add_case(image, extra_images={"dixon_fat": real_data / "dixon_fat.nii.gz"}, allow_duplicate=True)


def test_a_flipped_oblique_four_dimensional_scan_round_trips(store: Store, real_data: Path) -> None:
    original = load_volume(real_data / "t2_mese.nii.gz")
    case = store.add_case(real_data / "t2_mese.nii.gz", contrast="t2")
    loaded = store.load_image(case.id)
    np.testing.assert_array_equal(loaded.data, original.data)
    np.testing.assert_allclose(loaded.affine, original.affine, atol=1e-4)
    assert case.technical["frame"] == "0 of 18 (default: first)" and case.technical["source_orientation"] == "LAS"
    assert "description" not in case.technical  # free header text is never kept


def test_stored_files_are_read_only(store: Store) -> None:
    import stat

    case = store.add_case(tiny_volume())
    version = store.add_label_version(case.id, tiny_labels())
    for path in (store.image_path(case.id), store.label_path(version.id)):
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_closing_the_catalog_waits_for_a_read_running_in_another_thread(tmp_path: Path) -> None:
    """A dock closed while its worker thread still reads the store must not close the connection under
    the read (that crashed the process); the read ends, then the connection closes."""
    import threading

    from legseg_core.store.catalog import Catalog

    catalog = Catalog.create(tmp_path / "catalog.sqlite", {"name": "test"})
    inside_read, release = threading.Event(), threading.Event()
    result: dict[str, str] = {}

    def slow(connection: sqlite3.Connection) -> str:
        inside_read.set()
        release.wait(10)
        return str(connection.execute("SELECT value FROM settings WHERE key = 'name'").fetchone()[0])

    reader = threading.Thread(target=lambda: result.setdefault("value", catalog.read(slow)))
    reader.start()
    assert inside_read.wait(10)
    closer = threading.Thread(target=catalog.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive()  # it waits for the read
    release.set()
    reader.join(10)
    closer.join(10)
    assert result == {"value": "test"} and not closer.is_alive()
    assert catalog.setting("name") == "test"  # used again after close: a new connection
    catalog.close()
