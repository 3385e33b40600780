"""The synthetic calf phantom: API, options, reproducibility, errors, files on disk, rendering."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.errors import ImageShapeError, InputPathError
from legseg_core.io import check_same_grid, load_labels, load_volume
from legseg_core.phantom import (CONTRASTS, DIAGNOSES, PhantomCase, PhantomParameterError, make_case)
from legseg_core.phantom.grid import PROTOCOLS, SLAB_OFFSET_MM, plan_grid
from legseg_core.phantom.subject import sample_legs


@pytest.fixture(scope="module")
def tiny_case() -> PhantomCase:
    return make_case(seed=5, protocol="B", contrasts=("dixon_water", "t1w"), size="tiny")


def test_case_holds_images_labels_and_metadata_on_one_grid(tiny_case):
    assert set(tiny_case.images) == {"dixon_water", "t1w"}
    labels = tiny_case.labels
    assert labels.data.dtype == np.uint8 and set(np.unique(labels.data)) <= set(range(8))
    for volume in tiny_case.images.values():
        assert volume.data.dtype == np.float32 and volume.shape == labels.shape
        assert volume.spacing == labels.spacing
        check_same_grid(volume, labels)
    meta = tiny_case.metadata
    assert meta["protocol"] == "B" and meta["slices"] == labels.shape[0] == 20
    assert meta["health"] == "healthy" and meta["diagnosis"] is None and meta["legs"] == "both"
    assert meta["voxel_size_mm"] == [round(s, 4) for s in labels.spacing]
    assert set(meta["fat_fraction"]) == {"GL", "GM", "SOL", "TA", "PER", "EDL", "TP"}
    assert all(0.0 < ff < 0.1 for ff in meta["fat_fraction"].values())
    assert meta["seed"] == 5 and meta["contrasts"] == ["dixon_water", "t1w"]


def test_same_seed_gives_identical_output_and_another_seed_differs(tiny_case):
    again = make_case(seed=5, protocol="B", contrasts=("dixon_water", "t1w"), size="tiny")
    np.testing.assert_array_equal(again.labels.data, tiny_case.labels.data)
    for name in tiny_case.images:
        np.testing.assert_array_equal(again.images[name].data, tiny_case.images[name].data)
    assert again.metadata == tiny_case.metadata
    other = make_case(seed=6, protocol="B", contrasts=("dixon_water", "t1w"), size="tiny")
    assert not np.array_equal(other.labels.data, tiny_case.labels.data)
    assert not np.array_equal(other.images["t1w"].data, tiny_case.images["t1w"].data)


def test_asking_for_more_contrasts_changes_neither_anatomy_nor_noise(tiny_case):
    alone = make_case(seed=5, protocol="B", contrasts=("t1w",), size="tiny")
    np.testing.assert_array_equal(alone.images["t1w"].data, tiny_case.images["t1w"].data)
    np.testing.assert_array_equal(alone.labels.data, tiny_case.labels.data)


def test_a_single_contrast_may_be_named_as_a_string():
    case = make_case(seed=1, contrasts="pd", size="tiny")
    assert list(case.images) == ["pd"]


def test_every_contrast_is_simulated():
    case = make_case(seed=2, protocol="A", contrasts=CONTRASTS, size="tiny")
    assert tuple(case.images) == CONTRASTS
    for name, volume in case.images.items():
        assert np.isfinite(volume.data).all() and volume.data.min() >= 0, name
        assert volume.data.max() > 10 * np.median(volume.data[case.labels.data == 0]), name


def test_protocol_defaults_and_slice_override():
    assert make_case(seed=1, protocol="A", size="tiny").metadata["contrasts"] == ["t1w"]
    b_case = make_case(seed=1, protocol="B", slices=25, size="tiny")
    assert b_case.metadata["contrasts"] == ["dixon_water", "dixon_fat"]
    assert b_case.labels.shape[0] == 25
    assert b_case.metadata["coverage"]["top_below_plateau_mm"] == pytest.approx(SLAB_OFFSET_MM, abs=0.01)
    assert b_case.labels.spacing[0] == pytest.approx(6.0, rel=0.06)


@pytest.mark.parametrize("protocol, slices, thickness", [("A", None, (3.0, 5.0)), ("B", 25, (5.5, 6.5)),
                                                          ("B", 45, (3.7, 4.3))])
def test_default_grids_have_realistic_voxels(protocol, slices, thickness):
    for seed in range(4):
        legs = sample_legs(np.random.default_rng(seed), "both")
        grid = plan_grid(np.random.default_rng(seed), protocol, slices, legs, "default")
        assert grid.shape[0] == (slices or PROTOCOLS[protocol].slices)
        assert thickness[0] <= grid.spacing[0] <= thickness[1]
        assert 0.5 <= grid.spacing[1] == grid.spacing[2] <= 1.5
        assert grid.shape[1] % 16 == 0 and grid.shape[2] % 16 == 0


def test_protocol_a_spans_the_whole_lower_leg():
    coverage = make_case(seed=3, protocol="A", size="tiny").metadata["coverage"]
    assert coverage["first_slice_height"] < 0.1 and coverage["last_slice_height"] > 0.9


def test_patient_case_names_its_diagnosis_and_is_fattier_than_healthy():
    patient = make_case(seed=4, protocol="B", health="patient", diagnosis="lgmd", size="tiny")
    healthy = make_case(seed=4, protocol="B", size="tiny")
    assert patient.metadata["health"] == "patient" and patient.metadata["diagnosis"] == "lgmd"
    assert patient.metadata["fat_fraction"]["SOL"] > healthy.metadata["fat_fraction"]["SOL"] + 0.2
    random_patient = make_case(seed=9, health="patient", size="tiny")
    assert random_patient.metadata["diagnosis"] in DIAGNOSES


def test_single_leg_scan_has_one_leg():
    case = make_case(seed=2, protocol="B", legs="right", size="tiny")
    body = (case.tissue.data > 0).any(axis=(0, 1))
    columns = np.flatnonzero(body)
    assert np.all(np.diff(columns) == 1), "one leg is one unbroken run of columns"
    assert case.metadata["legs"] == "right" and case.labels.shape[1:] == (48, 48)


def test_domain_randomisation_keeps_labels_and_changes_intensities(tiny_case):
    randomized = make_case(seed=5, protocol="B", contrasts=("dixon_water", "t1w"), size="tiny",
                           randomize_intensity=True)
    np.testing.assert_array_equal(randomized.labels.data, tiny_case.labels.data)
    assert not np.allclose(randomized.images["t1w"].data, tiny_case.images["t1w"].data)
    assert randomized.metadata["randomize_intensity"] is True


def test_saved_files_reload_to_identical_canonical_arrays(tiny_case, tmp_path):
    paths = tiny_case.save(tmp_path / "case")
    for name, volume in tiny_case.images.items():
        loaded = load_volume(paths[name])
        np.testing.assert_array_equal(loaded.data, volume.data)
        check_same_grid(loaded, volume)
        np.testing.assert_allclose(loaded.affine, volume.affine, atol=1e-4)
    labels = load_labels(paths["labels"], like=load_volume(paths["t1w"]))
    np.testing.assert_array_equal(labels.data, tiny_case.labels.data)
    assert '"case_id"' in paths["metadata"].read_text(encoding="utf-8")


def test_save_refuses_a_file_as_folder(tiny_case, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(InputPathError, match="taken: exists and is not a folder"):
        tiny_case.save(target)


@pytest.mark.parametrize("options, message", [
    ({"protocol": "C"}, "unknown protocol 'C'"),
    ({"size": "huge"}, "unknown size 'huge'"),
    ({"legs": "three"}, "unknown legs 'three'"),
    ({"health": "sick"}, "unknown health status 'sick'"),
    ({"health": "patient", "diagnosis": "flu"}, "unknown diagnosis 'flu'"),
    ({"diagnosis": "ibm"}, "diagnosis 'ibm' needs health='patient'"),
    ({"contrasts": ("t1w", "flair")}, "unknown contrast 'flair'"),
    ({"contrasts": ()}, "no contrast requested"),
    ({"contrasts": ("t1w", "t1w")}, "contrast listed twice"),
    ({"slices": 0}, "slices must be a whole number from 1 to 400, got 0"),
    ({"slices": 2.5}, "got 2.5"),
    ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
    ({"seed": "one"}, "seed must be a whole number >= 0, got 'one'"),
    ({"protocol": "A", "knee_mm": -5.0}, "knee_mm must be a number of mm from 0 to 150 above the tibial plateau, got -5.0"),
    ({"protocol": "A", "knee_mm": 400}, "got 400"),
    ({"protocol": "A", "knee_mm": "far"}, "got 'far'"),
    ({"protocol": "B", "knee_mm": 50.0}, "knee_mm=50.0 needs the whole-leg protocol A; protocol 'B' is a slab"),
    ({"protocol": "A", "foot_mm": 90.0}, "foot_mm must be a number of mm from 0 to 80 below the ankle joint, got 90.0"),
    ({"protocol": "A", "foot_mm": True}, "got True"),
    ({"protocol": "B", "foot_mm": 20}, "foot_mm=20 needs the whole-leg protocol A"),
])
def test_invalid_options_are_refused_with_the_value_named(options, message):
    with pytest.raises(PhantomParameterError, match=message):
        make_case(**{"seed": 0, "size": "tiny", **options})


def test_render_slice_and_case_png(tiny_case, tmp_path):
    from legseg_core.phantom.render import overlay_rgb, render_case_png, render_slice_png

    path = render_slice_png(tiny_case.images["t1w"], tiny_case.labels, tmp_path / "slice.png", title="t1w")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render_case_png(tiny_case, tmp_path / "case.png").stat().st_size > 1000
    rgb = overlay_rgb(tiny_case.images["t1w"].data[10], tiny_case.labels.data[10])
    assert rgb.shape == (*tiny_case.labels.shape[1:], 3) and 0 <= rgb.min() and rgb.max() <= 1
    with pytest.raises(ImageShapeError, match="slice 99 is outside 0..19"):
        render_slice_png(tiny_case.images["t1w"], None, tmp_path / "bad.png", slice_index=99)
