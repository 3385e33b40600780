"""Training cases synthesised from label maps: templates, the held-out leg, the synthesis, the cohort."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from legseg_core.cli import main
from legseg_core.labels import MUSCLE_BY_ABBR
from legseg_core.phantom import PhantomParameterError
from legseg_core.phantom.tissue import AIR, CORTEX, FASCIA, FAT, MARROW, MUSCLE_CLASS, SKIN, TENDON
from legseg_core.synth import (HeldOutLegError, SynthesisSettings, SyntheticMix, TemplateError,
                               generate_synthetic_cohort, labelled_leg_template, synthesize_case)
from legseg_core.synth.heldout import check_trainable
from legseg_core.synth.templates import load_template_files
from legseg_core.synth.thin import thin_boundaries
from legseg_core.progress import run_quietly

GM, SOL, TA = (MUSCLE_BY_ABBR[a].id for a in ("GM", "SOL", "TA"))


def _leg(labels: np.ndarray, image: np.ndarray, centre_x: int, medial: int, *, extra: int | None = None) -> None:
    """Paint one leg (a disc of body with a bone and three muscles) into ``[z, y, x]`` arrays, in place.

    ``medial`` is +1 for a right leg (medial toward larger x) and -1 for a left leg.
    """
    z, y, x = np.ogrid[:labels.shape[0], :labels.shape[1], :labels.shape[2]]
    radius = np.hypot(y - 20, x - centre_x)
    image[:, (radius < 16)[0]] = 40.0  # subcutaneous layer (darker than muscle)
    image[:, (radius < 13)[0]] = 100.0
    image[:, (np.hypot(y - 12, x - centre_x - 2 * medial) < 3)[0]] = 5.0  # dark bone
    labels[:, ((radius < 13) & (y > 22))[0]] = SOL
    labels[:, ((radius < 13) & (y > 22) & ((x - centre_x) * medial > 4))[0]] = GM
    labels[:, ((radius < 13) & (y < 12) & ((x - centre_x) * medial < -2))[0]] = TA
    if extra is not None:
        labels[:, ((radius < 5) & (y >= 14) & (y <= 18))[0]] = extra


def _bilateral(extra_left: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros((6, 40, 80), dtype=np.uint8)
    image = np.zeros(labels.shape, dtype=np.float32)
    _leg(labels, image, 20, +1)
    _leg(labels, image, 60, -1, extra=extra_left)
    return image, labels


def test_a_template_takes_one_leg_and_reads_the_other_classes_off_the_image():
    image, labels = _bilateral(extra_left=MUSCLE_BY_ABBR["TP"].id)
    template = labelled_leg_template(image, labels, (5.0, 2.0, 2.0), leg="right", upsample=1)
    present = set(np.unique(template.labels)) - {0}
    assert present == {GM, SOL, TA}, "the left leg's muscle (TP) must not reach the right-leg template"
    classes = set(np.unique(template.tissue))
    assert {SKIN, FAT, MUSCLE_CLASS[GM]} <= classes
    assert {MARROW, CORTEX} & classes, "the dark region enclosed by the muscles becomes bone"
    assert template.tissue.shape[2] < 40, "cropped to one leg"
    gm_x = np.argwhere(template.labels == GM)[:, 2].mean()
    ta_x = np.argwhere(template.labels == TA)[:, 2].mean()
    assert gm_x > ta_x, "a template is a right leg: medial (GM) toward larger x"

    left = labelled_leg_template(image, labels, (5.0, 2.0, 2.0), leg="left", upsample=1)
    assert MUSCLE_BY_ABBR["TP"].id in left.labels
    assert np.argwhere(left.labels == GM)[:, 2].mean() > np.argwhere(left.labels == TA)[:, 2].mean(), \
        "a left leg is mirrored into a right leg"


@pytest.mark.parametrize("change, message", [
    (lambda image, labels: (image, np.where(labels == SOL, 17, labels).astype(np.uint8)), "not muscle ids"),
    (lambda image, labels: (image, np.where(np.arange(80) < 40, labels, 0).astype(np.uint8)), "one leg only"),
    (lambda image, labels: (image[:, :, :70], labels), "not on the image's grid"),
    (lambda image, labels: (image, np.zeros_like(labels)), "no muscle"),
])
def test_bad_template_label_maps_are_refused_with_a_named_error(change, message):
    image, labels = change(*_bilateral())
    with pytest.raises(TemplateError, match=message):
        labelled_leg_template(image, labels, (5.0, 2.0, 2.0), name="my-labels.nii.gz")


def test_template_files_on_different_grids_are_refused(tmp_path):
    from legseg_core.io import Volume, save_image, save_labels

    image, labels = _bilateral()
    like = Volume.from_array(image, (5.0, 2.0, 2.0))
    save_image(image, like, tmp_path / "scan.nii.gz")
    save_labels(labels[:, :, :70], Volume.from_array(labels[:, :, :70], (5.0, 2.0, 2.0)), tmp_path / "labels.nii.gz")
    with pytest.raises(TemplateError, match="labels.nii.gz.*not on the grid"):
        load_template_files(tmp_path / "scan.nii.gz", tmp_path / "labels.nii.gz")


def _tiny_template():
    image, labels = _bilateral()
    return labelled_leg_template(image, labels, (5.0, 2.0, 2.0), leg="right", upsample=1)


TINY_SETTINGS = SynthesisSettings(pixel_mm=(1.2, 1.6), slice_mm=(5.0, 6.0), slab_slices=(12, 14),
                                  whole_leg_probability=0.0, margin_mm=(5.0, 10.0))


def test_a_synthetic_case_holds_both_legs_in_place_on_one_grid():
    template = _tiny_template()
    case = synthesize_case(np.random.default_rng(3), (template, template), TINY_SETTINGS)
    image, labels = case.image.data, case.labels.data
    assert image.shape == labels.shape and image.dtype == np.float32 and labels.dtype == np.uint8
    assert np.isfinite(image).all() and image.max() > 0
    assert 1.2 <= case.image.spacing[1] <= 1.6 and 5.0 <= case.image.spacing[0] <= 6.0
    assert set(np.unique(labels)) == {0, GM, SOL, TA}
    middle = labels.shape[2] // 2
    for columns, medial in ((slice(0, middle), 1), (slice(middle, None), -1)):
        leg = labels[:, :, columns]
        gm, ta = (np.argwhere(leg == k)[:, 2].mean() for k in (GM, TA))
        assert (gm - ta) * medial > 0, "GM medial and TA lateral on each leg (the left leg mirrored)"
    muscle = image[labels > 0].mean()
    assert image[labels == 0].mean() < muscle, "outside the muscles is mostly darker background and fat"
    again = synthesize_case(np.random.default_rng(3), (template, template), TINY_SETTINGS)
    np.testing.assert_array_equal(again.labels.data, labels)


def test_a_single_leg_lies_on_its_own_side_where_the_preprocessing_tells_its_side():
    from legseg_core.preprocess import PreprocessConfig, to_patches

    template = _tiny_template()
    sides = set()
    for seed in range(6):
        case = synthesize_case(np.random.default_rng(seed), (template,), TINY_SETTINGS)
        patches = to_patches(case.image, case.labels.data, PreprocessConfig(patch_shape=(8, 32, 32)))
        record = patches.plan.records[0]
        assert not patches.plan.side_guessed, f"seed {seed}: the side of the single leg was guessed"
        labels = patches.labels[0]
        gm, ta = (np.argwhere(labels == k)[:, 2].mean() for k in (GM, TA))
        assert gm > ta, f"seed {seed}: the {record.leg} leg reaches the network as a right leg"
        sides.add(record.leg)
    assert sides == {"right", "left"}


def test_a_cohort_is_written_and_imported_into_a_store(tmp_path):
    from legseg_core.store import Store
    from legseg_core.store.importer import import_work

    template = _tiny_template()
    mix = SyntheticMix(real_share=1.0, single_share=0.0, mixed_share=0.0, settings=TINY_SETTINGS)
    cases = run_quietly(generate_synthetic_cohort(3, tmp_path / "cohort", 5, real_templates=(template,), mix=mix))
    assert len(cases) == 3 and (tmp_path / "cohort" / "metadata.csv").is_file()
    store = Store.init(tmp_path / "store")
    report = run_quietly(import_work(store, tmp_path / "cohort", tmp_path / "cohort" / "metadata.csv",
                                     provenance="synthetic", accept=True))
    assert len(report.added) == 3 and not report.failed
    assert all(case.accepted_version for case in store.cases())


def test_a_draw_the_preprocessing_would_refuse_is_drawn_again_and_says_so(tmp_path, monkeypatch):
    """A random contrast can leave the legs within a noise level of the air; training would stop at such a
    case, so the cohort draws it again (and only it: the next case keeps its own random stream)."""
    from dataclasses import replace

    from legseg_core.synth import cohort

    template = _tiny_template()
    mix = SyntheticMix(real_share=1.0, single_share=0.0, mixed_share=0.0, settings=TINY_SETTINGS)
    plain = run_quietly(generate_synthetic_cohort(2, tmp_path / "plain", 5, real_templates=(template,), mix=mix))
    calls = []

    def noise_first(rng, templates, settings, *, case_id):
        case = synthesize_case(rng, templates, settings, case_id=case_id)
        calls.append(case_id)
        if len(calls) == 1:  # the first draw of the first case: air only
            noise = np.random.default_rng(0).rayleigh(10.0, case.image.shape).astype(np.float32)
            return replace(case, image=replace(case.image, data=noise))
        return case

    monkeypatch.setattr(cohort, "synthesize_case", noise_first)
    cases = run_quietly(generate_synthetic_cohort(2, tmp_path / "redrawn", 5, real_templates=(template,), mix=mix))
    assert calls == ["synth0000", "synth0000", "synth0001"]
    assert "no leg-like foreground" in cases[0]["redrawn"][0] and "redrawn" not in cases[1]
    assert cases[1] == plain[1], "the other cases keep their random streams"


def test_the_cli_refuses_a_held_out_template_leg_in_one_line(tmp_path, real_data, capsys):
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1",
                 "--template-image", str(real_data / "dwi_mean.nii.gz"),
                 "--template-labels", str(real_data / "labels.nii.gz"),
                 "--template-mapping", "qmritools-calf", "--template-leg", "left"])
    err = capsys.readouterr().err
    assert code != 0 and "held out" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_the_held_out_leg_never_becomes_a_template_or_training_data(real_data, real_case):
    image, labels, right = real_case
    with pytest.raises(HeldOutLegError, match="left leg is held out"):
        load_template_files(real_data / "dwi_mean.nii.gz", real_data / "labels.nii.gz", leg="left",
                            mapping="qmritools-calf")
    with pytest.raises(HeldOutLegError, match="held out"):
        labelled_leg_template(image.data, labels.data, image.spacing, leg="left")
    template = load_template_files(real_data / "dwi_mean.nii.gz", real_data / "labels.nii.gz",
                                   mapping="qmritools-calf")
    right_columns = np.flatnonzero(right.any(axis=(0, 1)))
    assert template.tissue.shape[2] / 2 * template.spacing[2] / image.spacing[2] < 80, "one leg only"
    assert set(np.unique(template.labels)) == set(range(8))
    for array, what in ((image.data, "scan"), (labels.data, "labels")):
        with pytest.raises(HeldOutLegError, match="never enters training"):
            check_trainable(array, what=what)
    check_trainable(image.data[:, :, : right_columns.max() + 3], what="the right leg cropped")


def test_training_on_a_store_case_that_holds_the_held_out_leg_is_refused(tmp_path, real_case):
    from legseg_core.store import Store
    from legseg_core.training.data import CaseEntry, case_patches, store_cache
    from legseg_core.preprocess import PreprocessConfig

    image, labels, _ = real_case
    store = Store.init(tmp_path / "store")
    record = store.add_case(image, contrast="diffusion")
    version = store.add_label_version(record.id, labels.data, provenance="manual")
    with pytest.raises(HeldOutLegError, match="held out for testing"):
        case_patches(store, CaseEntry(record.id, version.id), store_cache(store), PreprocessConfig())


def test_a_store_case_the_preprocessing_refuses_stops_training_with_its_case_id(tmp_path):
    from legseg_core.errors import TrainingError
    from legseg_core.io import Volume
    from legseg_core.preprocess import PreprocessConfig
    from legseg_core.store import Store
    from legseg_core.training.data import CaseEntry, case_patches, store_cache

    noise = np.random.default_rng(0).rayleigh(10.0, (12, 64, 96)).astype(np.float32)  # air only
    labels = np.zeros(noise.shape, dtype=np.uint8)
    labels[:, 20:40, 20:40] = SOL
    store = Store.init(tmp_path / "store")
    record = store.add_case(Volume.from_array(noise, (5.0, 1.5, 1.5), name="image"), contrast="t1w")
    version = store.add_label_version(record.id, labels, provenance="manual")
    with pytest.raises(TrainingError) as caught:
        case_patches(store, CaseEntry(record.id, version.id), store_cache(store), PreprocessConfig())
    message = str(caught.value)
    assert f"store case {record.id}" in message and "no leg-like foreground" in message
    assert f"legseg store status {record.id} excluded" in message


def test_boundary_lines_darken_where_tissues_meet_and_streaks_put_fat_in_muscle():
    from legseg_core.synth import appearance

    tissue = np.full((2, 40, 40), MUSCLE_CLASS[SOL], dtype=np.uint8)
    tissue[:, :, 20:] = MUSCLE_CLASS[GM]
    table = appearance.prior_table("t1w")
    image = table[tissue].astype(np.float32)
    appearance.boundary_lines(np.random.default_rng(0), tissue, image)
    assert image[:, :, 20].max() < table[MUSCLE_CLASS[GM]] * 0.61, "the column where the muscles meet is darker"
    assert np.allclose(image[:, :, 5], table[MUSCLE_CLASS[SOL]]), "away from the boundary nothing changes"
    image = table[tissue].astype(np.float32)
    appearance.muscle_streaks(np.random.default_rng(1), tissue, image, table)
    streaks = image > table[MUSCLE_CLASS[SOL]] * 1.2
    assert 0 < streaks.mean() < 0.3, "thin streaks, brighter than muscle in T1w (fat), cover a small part"


def test_compartments_shade_part_of_a_muscle_and_draw_a_tendon_sheet_without_touching_anything_else():
    from legseg_core.synth import appearance

    assert appearance.prior_table("t2w")[TENDON] < 0.05, "tendon is dark in T2w"
    tissue = np.full((4, 60, 80), FAT, dtype=np.uint8)
    tissue[:, 10:30, 10:70] = MUSCLE_CLASS[SOL]  # an elongated muscle, 20 x 60 voxels of 1 mm
    table = appearance.prior_table("t2w")
    shades, sheets = [], []
    for seed in range(12):
        image = table[tissue].astype(np.float32)
        split = appearance.muscle_compartments(np.random.default_rng(seed), tissue, image, table, 1.0,
                                               (slice(0, 80),))
        outside = tissue != MUSCLE_CLASS[SOL]
        assert np.array_equal(image[outside], table[tissue][outside].astype(np.float32)), "only the muscle changes"
        inside = image[~outside] / np.float32(table[MUSCLE_CLASS[SOL]])
        if split:
            shades.append(np.percentile(inside, 95) / np.percentile(inside, 5))
            # shading alone keeps every voxel at exp(-0.4) = 0.67 of the muscle or more; a sheet mixes towards tendon
            sheets.append(inside.min() < 0.4)
        else:
            assert np.allclose(inside, 1.0), "a muscle left alone keeps its one grey"
    assert len(shades) >= 4, "about 60% of the muscles are split"
    assert max(shades) > 1.2, "the two parts of a split muscle differ in brightness"
    assert any(sheets), "a tendon-dark sheet lies inside some split muscles"


def test_faint_septa_are_nearly_muscle_and_alike_muscles_share_one_brightness():
    from legseg_core.phantom.tissue import FASCIA
    from legseg_core.synth import appearance

    table = appearance.prior_table("t1w")
    muscles = appearance.LABELLED_MUSCLE_CLASSES
    for seed in range(5):
        faint = table.copy()
        appearance.faint_septa(np.random.default_rng(seed), faint)
        gap = abs(faint[FASCIA] - table[muscles].mean())
        assert gap <= 0.4 * abs(table[FASCIA] - table[muscles].mean()) + 1e-9, "a faint septum keeps little contrast"
        alike = appearance.class_table(np.random.default_rng(seed), "t1w", 0.25, appearance.ALIKE_MUSCLE_JITTER)
        assert alike[muscles].max() / alike[muscles].min() < 1.25, "alike muscles lie a few percent apart"


def test_synthesis_with_the_new_options_keeps_labels_and_changes_only_the_image():
    from dataclasses import replace

    template = _tiny_template()
    plain = synthesize_case(np.random.default_rng(3), (template, template), TINY_SETTINGS)
    varied = synthesize_case(np.random.default_rng(3), (template, template), replace(
        TINY_SETTINGS, faint_septum_probability=1.0, alike_muscle_probability=1.0, compartment_probability=1.0))
    assert np.array_equal(plain.labels.data, varied.labels.data), "the options change intensities, not anatomy"
    assert not np.array_equal(plain.image.data, varied.image.data)


def test_local_shading_changes_the_brightness_within_a_leg_and_not_the_labels():
    from dataclasses import replace

    template = _tiny_template()
    quiet = replace(TINY_SETTINGS, snr=(1e6, 1e6), gamma=(1.0, 1.0))  # no noise, no gamma: the ratio is the shading
    plain = synthesize_case(np.random.default_rng(4), (template, template), quiet)
    shaded = synthesize_case(np.random.default_rng(4), (template, template), replace(quiet, local_shading_probability=1.0))
    assert np.array_equal(plain.labels.data, shaded.labels.data), "shading changes intensities, not anatomy"
    muscle = plain.labels.data > 0
    right = muscle & (np.arange(muscle.shape[2]) < muscle.shape[2] // 2)
    ratio = np.log(shaded.image.data[right] / plain.image.data[right])
    again = synthesize_case(np.random.default_rng(4), (template, template), quiet)
    assert np.log(again.image.data[right] / plain.image.data[right]).std() < 1e-3, "without it, the same image"
    assert ratio.std() > 0.01, "the brightness changes within one leg"


def test_local_shading_varies_over_centimetres_where_the_bias_field_spans_the_field_of_view():
    from legseg_core.synth import appearance

    shape, pixel = (4, 200, 400), 1.0  # two legs side by side at 1 mm
    cells = appearance.local_shading_cells(shape, pixel)
    assert cells == (2, 5, 10)
    window = (1, slice(75, 125), slice(75, 125))  # 50 mm across in one slice: about one leg
    spreads = {"bias": [], "local": []}
    for seed in range(16):
        for name, grid in (("bias", (2, 3, 3)), ("local", cells)):
            field = appearance.bias_field(np.random.default_rng(seed), shape, 0.5, grid)
            spreads[name].append(float(np.log(field[window]).std()))
    assert np.median(spreads["local"]) > 1.5 * np.median(spreads["bias"])


def test_the_cli_refuses_a_chance_outside_0_to_1(tmp_path, capsys):
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--streaks", "1.5"])
    err = capsys.readouterr().err
    assert code != 0 and "--streaks 1.5" in err and "Traceback" not in err
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--faint-septa", "-1"])
    err = capsys.readouterr().err
    assert code != 0 and "--faint-septa -1" in err and "Traceback" not in err
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--local-shading", "2"])
    err = capsys.readouterr().err
    assert code != 0 and "--local-shading 2" in err and "Traceback" not in err
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--compartments", "-0.5"])
    err = capsys.readouterr().err
    assert code != 0 and "--compartments -0.5" in err and "Traceback" not in err


def test_the_cli_refuses_a_reach_over_the_knee_or_the_foot_out_of_range(tmp_path, capsys):
    for value in ("-10", "200", "nan"):
        code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1",
                     "--knee-mm", value])
        err = capsys.readouterr().err
        assert code != 0 and f"--knee-mm {float(value)!r} must lie in 0..150 mm" in err and "Traceback" not in err
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--foot-mm", "81"])
    err = capsys.readouterr().err
    assert code != 0 and "--foot-mm 81.0 must lie in 0..80 mm below the ankle joint" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
    with pytest.raises(PhantomParameterError, match="knee_mm must be a number of mm from 0 to 150"):
        SyntheticMix(knee_mm=-1.0)
    with pytest.raises(PhantomParameterError, match="foot_mm must be a number of mm from 0 to 80"):
        SyntheticMix(foot_mm=100.0)


def test_phantom_templates_reach_over_the_knee_and_the_foot_by_random_amounts_and_keep_their_seeds():
    from legseg_core.synth.cohort import _PhantomPool

    plain, knees = _PhantomPool(9, 12), _PhantomPool(9, 12, knee_mm=100.0, foot_mm=60.0)
    assert knees.seeds == plain.seeds and knees.diagnoses == plain.diagnoses, "cohorts without knees come out as before"
    assert plain.knee_mm == [0.0] * 12 and plain.foot_mm == [0.0] * 12
    assert all(0.0 <= k <= 100.0 for k in knees.knee_mm) and np.ptp(knees.knee_mm) > 40, "every height up to 100 mm"
    assert all(0.0 <= k <= 60.0 for k in knees.foot_mm) and np.ptp(knees.foot_mm) > 25, "every depth up to 60 mm"
    assert knees.foot_mm != knees.knee_mm


def test_legseg_train_refuses_a_store_that_holds_the_held_out_leg(tmp_path, real_case, capsys):
    from legseg_core.store import SplitConfig, Store

    image, labels, _ = real_case
    store = Store.init(tmp_path / "store", splits=SplitConfig(1.0, 0.0, 0.0))
    record = store.add_case(image, contrast="diffusion")
    store.accept(record.id, store.add_label_version(record.id, labels.data, provenance="manual").id)
    code = main(["train", "--store", str(store.root), "--epochs", "1", "--device", "cpu", "--no-progress",
                 "--model-option", "channels=[4,8]", "--model-option", "strides=[[1,2,2]]",
                 "--preprocess-option", "patch_shape=[8,32,32]", "--threads", "1"])
    err = capsys.readouterr().err
    assert code != 0 and "held out for testing" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_resized_muscles_change_their_proportions_and_keep_their_neighbours():
    from legseg_core.labels import MUSCLES
    from legseg_core.synth.reshape import resize_muscles

    image, labels = _bilateral()
    template = labelled_leg_template(image, labels, (5.0, 1.0, 1.0), leg="right", upsample=2)
    assert resize_muscles(np.random.default_rng(0), template, 0.0) is template
    ratios = []
    for seed in range(4):
        resized = resize_muscles(np.random.default_rng(seed), template, 0.25)
        assert resized.tissue.shape == template.tissue.shape
        assert set(np.unique(resized.tissue)) <= set(np.unique(template.tissue)), "no new tissue class appears"
        present = [m.id for m in MUSCLES if (template.labels == m.id).any()]
        assert all((resized.labels == label).any() for label in present), "no muscle vanishes"
        ratios.append([(resized.labels == label).sum() / (template.labels == label).sum() for label in present])
        body = resized.tissue > 0
        assert abs(body.sum() / (template.tissue > 0).sum() - 1) < 0.1, "the leg keeps about its size"
    ratios = np.asarray(ratios)
    assert ratios.min() < 0.9 and ratios.max() > 1.1, "muscles grow and shrink"
    assert np.all((ratios > 0.45) & (ratios < 1.8)), "by at most about the range asked for"
    assert np.ptp(ratios[:, 0] / ratios[:, 1]) > 0.05, "the proportions between muscles vary from leg to leg"
    from dataclasses import replace

    tiny = _tiny_template()
    plain = synthesize_case(np.random.default_rng(3), (tiny, tiny), TINY_SETTINGS)
    resized = synthesize_case(np.random.default_rng(3), (tiny, tiny), replace(TINY_SETTINGS, muscle_resize=0.25))
    assert plain.labels.shape == resized.labels.shape and not np.array_equal(plain.labels.data, resized.labels.data)


def test_the_cli_refuses_a_muscle_resize_that_would_fold_the_anatomy(tmp_path, capsys):
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1",
                 "--muscle-resize", "0.6"])
    err = capsys.readouterr().err
    assert code != 0 and "--muscle-resize 0.6" in err and "Traceback" not in err
    code = main(["phantom", "synthetic", "--n", "1", "--out", str(tmp_path / "c"), "--seed", "1", "--blur", "-0.5"])
    err = capsys.readouterr().err
    assert code != 0 and "--blur -0.5" in err and "Traceback" not in err


def test_a_template_from_a_coarse_grid_keeps_septa_and_skin_thin():
    """A one-voxel unlabelled gap between two muscles on a 2 mm grid (as bright as muscle, as in real
    images) becomes a line one fine voxel wide with the muscles grown up to it; the skin keeps only its
    outer fine voxel."""
    image, labels = _bilateral()
    gap = np.zeros(labels.shape, dtype=bool)
    gap[:, 23:, 25] = True  # the column between the right leg's SOL (x < 25) and GM (x > 24)
    labels[gap & (labels > 0)] = 0
    coarse = labelled_leg_template(image, labels, (5.0, 2.0, 2.0), leg="right", upsample=1)
    fine = labelled_leg_template(image, labels, (5.0, 2.0, 2.0), leg="right", upsample=3)
    assert (coarse.tissue == FASCIA).any(), "the bright gap is read off as a septum"
    per_coarse_area = (fine.tissue == FASCIA).sum() / 9
    assert per_coarse_area < 0.5 * (coarse.tissue == FASCIA).sum(), "the septum is thinned to a third or less"
    gm, sol = fine.labels == GM, fine.labels == SOL
    touching = [(gm[:, :, 1:] & sol[:, :, :-1]).any(), (gm[:, :, :-1] & sol[:, :, 1:]).any(),
                (gm[:, 1:, :] & sol[:, :-1, :]).any(), (gm[:, :-1, :] & sol[:, 1:, :]).any()]
    assert not any(touching), "two muscles still meet across a septum line"
    assert gm.sum() / 9 > (coarse.labels == GM).sum() and sol.sum() / 9 > (coarse.labels == SOL).sum(), \
        "both muscles grew into the gap"
    skin = fine.tissue == SKIN
    assert skin.any() and not (skin & ~ndimage.binary_dilation(fine.tissue == AIR)).any(), \
        "all skin lies against the air"


def test_thinning_leaves_wide_fat_between_muscles():
    tissue = np.full((1, 30, 40), FAT, dtype=np.uint8)
    tissue[:, :, :12] = MUSCLE_CLASS[SOL]
    tissue[:, :, 28:] = MUSCLE_CLASS[GM]
    thinned = thin_boundaries(tissue, (5.0, 1.0, 1.0), reach_mm=3.0)
    row = thinned[0, 15]
    assert (row[12:15] == MUSCLE_CLASS[SOL]).all() and (row[25:28] == MUSCLE_CLASS[GM]).all(), \
        "each muscle grows 3 mm into the fat"
    assert (row[16:24] == FAT).all(), "the middle of a 16 mm fat pad stays fat"
