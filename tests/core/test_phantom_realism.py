"""Realism of the synthetic calf: proportions, orientation, contrast and fat, against anatomy and the real case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from legseg_core.labels import MUSCLE_ABBRS, MUSCLE_BY_ABBR
from legseg_core.phantom import make_case
from legseg_core.phantom.tissue import FAT, IS_MUSCLE, MARROW


def _shares(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels.ravel(), minlength=8)[1:].astype(float)
    return counts / counts.sum()


def _split_legs(case) -> tuple[slice, slice]:
    """Column ranges of the right leg (smaller x) and of the left leg."""
    body = (case.tissue.data > 0).sum(axis=(0, 1))
    middle = body.size // 2
    quarter = body.size // 4
    gap = quarter + int(np.argmin(body[quarter:middle + quarter]))
    return slice(0, gap), slice(gap, body.size)


@pytest.fixture(scope="module")
def b25_cases():
    return [make_case(seed=seed, protocol="B", slices=25, contrasts=("dixon_water",), size="tiny")
            for seed in range(3)]


def test_muscle_volumes_rank_as_in_the_real_case(b25_cases, real_case):
    _, real_labels, _ = real_case
    real = _shares(real_labels.data)
    phantom = np.mean([_shares(case.labels.data) for case in b25_cases], axis=0)
    for shares in (real, phantom):
        order = [MUSCLE_ABBRS[i] for i in np.argsort(shares)]
        assert order[-1] == "SOL", order
        assert {"EDL", "TP"} <= set(order[:3]), order
    rank_real, rank_phantom = np.argsort(np.argsort(real)), np.argsort(np.argsort(phantom))
    spearman = 1 - 6 * np.sum((rank_real - rank_phantom) ** 2) / (7 * (49 - 1))
    assert spearman >= 0.75, (real.round(3), phantom.round(3))


def test_all_seven_muscles_in_both_legs_wherever_the_slab_covers_them(b25_cases):
    for case in b25_cases:
        coverage = case.metadata["coverage"]
        heights = np.linspace(coverage["first_slice_height"], coverage["last_slice_height"], case.labels.shape[0])
        for columns in _split_legs(case):
            for k in np.flatnonzero((heights > 0.6) & (heights < 0.85)):
                present = set(np.unique(case.labels.data[k][:, columns])) - {0}
                assert present == set(range(1, 8)), (case.metadata["seed"], k, present)


def test_protocol_a_covers_every_muscle_and_the_gastrocnemius_ends_mid_calf():
    case = make_case(seed=7, protocol="A", size="tiny")
    labels = case.labels.data
    assert set(np.unique(labels)) == set(range(8))
    coverage = case.metadata["coverage"]
    heights = np.linspace(coverage["first_slice_height"], coverage["last_slice_height"], labels.shape[0])
    gm = MUSCLE_BY_ABBR["GM"].id
    per_slice = (labels == gm).sum(axis=(1, 2))
    assert per_slice[heights < 0.3].sum() == 0, "the gastrocnemius ends towards mid-calf"
    assert per_slice[heights > 0.7].min() > 0
    sol = (labels == MUSCLE_BY_ABBR["SOL"].id).sum(axis=(1, 2))
    assert sol[(heights > 0.3) & (heights < 0.6)].mean() > sol[heights > 0.85].mean()


def test_over_the_knee_only_the_gastrocnemius_heads_are_labelled_and_end_at_their_origins():
    """Above the tibial plateau lie the femur, the patella, the thigh's muscles (unlabelled) and the two
    gastrocnemius heads, which rise over the condyles to their origins some 5 cm above the joint."""
    case = make_case(seed=7, protocol="A", legs="right", knee_mm=100.0, slices=60, size="tiny")
    plain = make_case(seed=7, protocol="A", legs="right", slices=60, size="tiny")
    labels, tissue = case.labels.data, case.tissue.data
    coverage, dz = case.metadata["coverage"], case.labels.spacing[0]
    assert coverage["top_below_plateau_mm"] == -100.0 and plain.metadata["coverage"]["top_below_plateau_mm"] > 0
    # height of each slice's centre above the plateau (mm)
    above = coverage["top_below_plateau_mm"] * -1 - dz * (labels.shape[0] - 0.5 - np.arange(labels.shape[0]))
    knee = above > dz / 2 + 3  # slices wholly above the joint space
    assert knee.sum() >= 8
    knee_labels = np.unique(labels[knee])
    gl, gm = MUSCLE_BY_ABBR["GL"].id, MUSCLE_BY_ABBR["GM"].id
    assert set(knee_labels) <= {0, gl, gm}, f"labels {knee_labels} over the knee"
    heads = (np.isin(labels, (gl, gm))).sum(axis=(1, 2))
    assert heads[knee & (above < 25)].min() > 0, "the heads cover the condyles"
    assert heads[above > 60].sum() == 0, "and end at their origins"
    thigh = above > 60
    body = tissue[thigh][tissue[thigh] > 0]
    assert (body == MARROW).mean() > 0.03 and IS_MUSCLE[body].mean() > 0.2, \
        "the femur and the thigh's muscles fill the sections above"
    assert set(np.unique(labels[above < -dz])) == set(range(8)), "the calf below keeps all seven muscles"


def test_below_the_ankle_the_foot_reaches_forward_and_holds_no_labelled_muscle():
    """Below the ankle joint lie the talus and the calcaneus, the foot reaching forward from the heel,
    tendons and the foot's own muscles: none of the seven labelled muscles."""
    case = make_case(seed=8, protocol="A", legs="right", foot_mm=70.0, slices=60, size="tiny")
    labels, tissue = case.labels.data, case.tissue.data
    coverage, dz = case.metadata["coverage"], case.labels.spacing[0]
    assert coverage["bottom_below_plateau_mm"] == pytest.approx(coverage["leg_length_mm"] + 70.0, abs=0.01)
    # height of each slice's centre above the ankle joint (mm)
    height = (np.arange(labels.shape[0]) + 0.5) * dz - 70.0
    foot = height < -dz / 2 - 2
    assert foot.sum() >= 6
    assert labels[foot].max() == 0, "no labelled muscle below the ankle"
    body = tissue[foot][tissue[foot] > 0]
    assert (body == MARROW).mean() > 0.05 and IS_MUSCLE[body].mean() > 0.02, "the foot's bones and its own muscles"
    rows = [np.flatnonzero((tissue[k] > 0).any(axis=1)) for k in range(labels.shape[0])]
    reach = np.array([r[-1] - r[0] + 1 if r.size else 0 for r in rows]) * case.labels.spacing[1]
    ankle = (height > 10) & (height < 40)
    assert reach[foot & (height < -25) & (height > -55)].min() > 1.5 * reach[ankle].max(), \
        "the section grows forward from the heel into the foot"
    assert set(np.unique(labels[height > 60])) == set(range(8))


def test_right_leg_lies_at_smaller_x_with_compartments_in_place(b25_cases):
    for case in b25_cases:
        labels = case.labels.data
        right, left = _split_legs(case)
        for columns, medial_sign in ((right, 1), (left, -1)):
            part = labels[:, :, columns]

            def centre(abbr: str, part: np.ndarray = part) -> np.ndarray:
                return np.argwhere(part == MUSCLE_BY_ABBR[abbr].id).mean(axis=0)

            # GM medial to GL, TA medial to PER (medial = toward the other leg)
            assert medial_sign * (centre("GM")[2] - centre("GL")[2]) > 0
            assert medial_sign * (centre("TA")[2] - centre("PER")[2]) > 0
            # anterior (smaller y) to posterior: TA in front, the deep TP, the soleus, then GL; GM is the
            # medial crescent wrapping the soleus, so its centroid is level with the soleus' (real left
            # leg: GM 47 mm, SOL 49 mm behind the tibia) and is compared medially instead
            assert centre("TA")[1] < centre("TP")[1] < centre("GM")[1]
            assert centre("TA")[1] < centre("SOL")[1] < centre("GL")[1]
            assert medial_sign * (centre("GM")[2] - centre("SOL")[2]) > 0


def test_fat_is_brighter_than_muscle_on_t1w_and_darker_on_dixon_water():
    case = make_case(seed=3, protocol="B", contrasts=("t1w", "dixon_water"), size="tiny")
    fat = case.tissue.data == FAT
    muscle = case.labels.data > 0
    t1w, water = case.images["t1w"].data, case.images["dixon_water"].data
    assert t1w[fat].mean() > 2.0 * t1w[muscle].mean()
    assert water[fat].mean() < 0.5 * water[muscle].mean()


def test_infiltrated_muscles_are_brighter_on_dixon_fat_in_proportion_to_fat_fraction():
    case = make_case(seed=11, protocol="B", slices=8, contrasts=("dixon_fat",), health="patient",
                     diagnosis="lgmd")
    fat_image = case.images["dixon_fat"].data
    fractions, brightness = [], []
    for abbr in MUSCLE_ABBRS:
        mask = case.labels.data == MUSCLE_BY_ABBR[abbr].id
        inner = ndimage.binary_erosion(mask, structure=np.ones((1, 3, 3), bool))
        if inner.sum() < 30:
            continue
        fractions.append(float(case.fat_fraction.data[inner].mean()))
        brightness.append(float(fat_image[inner].mean()))
    fractions, brightness = np.array(fractions), np.array(brightness)
    assert fractions.max() - fractions.min() > 0.3, fractions
    slope, intercept = np.polyfit(fractions, brightness, 1)
    assert np.corrcoef(fractions, brightness)[0, 1] > 0.95
    assert slope > 0 and abs(intercept) < 0.15 * slope, (slope, intercept)
    mean_ff = case.metadata["fat_fraction"]
    assert mean_ff["SOL"] > mean_ff["TA"] + 0.2, "LGMD spares the anterior compartment"


def test_healthy_muscle_has_a_few_percent_fat():
    case = make_case(seed=8, protocol="A", size="tiny")
    fat = np.array(list(case.metadata["fat_fraction"].values()))
    assert np.all((fat > 0.01) & (fat < 0.08)), fat


CENTROID_TOLERANCE_MM = 30.0  # per axis, phantom mean over seeds against the mean of the two real legs
FRACTION_TOLERANCE = 0.06  # absolute, per muscle, share of the seven muscles' area at mid-calf
GM_GL_RATIO_RANGE = (1.4, 3.2)  # real: 2.16 right leg, 1.87 left leg


def _real_leg_statistics(real_case, side):
    from legseg_core.phantom.realism import as_right_leg, measure_leg, tibia_from_labels

    image, labels, right = real_case
    mask = right if side == "right" else (labels.data > 0) & ~right
    leg = as_right_leg(np.where(mask, labels.data, 0), side)
    tibia = tibia_from_labels(leg, as_right_leg(image.data, side))
    return measure_leg(leg, tibia, image.spacing)


def test_muscles_lie_around_the_tibia_as_in_the_real_legs(real_case):
    from legseg_core.phantom.realism import measure_leg, tibia_from_tissue

    real = [_real_leg_statistics(real_case, side) for side in ("right", "left")]
    phantom = []
    for seed in range(3):
        case = make_case(seed=seed, protocol="B", slices=25, contrasts=("dixon_water",), legs="right", size="tiny")
        phantom.append(measure_leg(case.labels.data, tibia_from_tissue(case.tissue.data), case.labels.spacing))
    for abbr in MUSCLE_ABBRS:
        target = np.mean([leg.centroid_mm[abbr] for leg in real], axis=0)
        found = np.mean([leg.centroid_mm[abbr] for leg in phantom], axis=0)
        assert np.all(np.abs(found - target) < CENTROID_TOLERANCE_MM), (abbr, found.round(), target.round())
        share = np.mean([leg.mid_calf_fraction[abbr] for leg in phantom])
        real_share = np.mean([leg.mid_calf_fraction[abbr] for leg in real])
        assert abs(share - real_share) < FRACTION_TOLERANCE, (abbr, share, real_share)
    ratio = np.mean([leg.gm_gl_ratio for leg in phantom])
    assert GM_GL_RATIO_RANGE[0] < ratio < GM_GL_RATIO_RANGE[1], ratio
    # GM is the medial head: medial to the soleus and well medial of GL, as in both real legs
    for leg in phantom:
        assert leg.centroid_mm["GM"][0] > leg.centroid_mm["SOL"][0] + 10 > leg.centroid_mm["GL"][0] + 10
        # EDL lies deep to TA (behind it, against the membrane), not beside the peroneal group
        assert leg.centroid_mm["EDL"][1] > leg.centroid_mm["TA"][1] + 8, (leg.centroid_mm["EDL"], leg.centroid_mm["TA"])
