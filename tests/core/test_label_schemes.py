"""Label schemes: another tool's label values onto the muscle ids, and a clear refusal of what does not map."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import ImageValueError
from legseg_core.io import Volume, load_labels, save_image
from legseg_core.io.relabel import LabelSchemeError, label_scheme, muscle_id_for_name

ITKSNAP = '''################################################
# ITK-SnAP Label Description File
################################################
    0     0    0    0        0  0  0    "Clear Label"
   11   255    0    0        1  1  1    "SOL_R"
   12   255    0    0        1  1  1    "GM_R"
   13   255    0    0        1  1  1    "GL_R"
   14   255    0    0        1  1  1    "TA_R"
   15   255    0    0        1  1  1    "ELD_R"
   16   255    0    0        1  1  1    "PE_R"
   17   255    0    0        1  1  1    "TP_R"
   30   200  200  200        1  1  1    "Tibia"
'''


@pytest.fixture
def foreign(tmp_path):
    """A label file holding the values 11..17 and 30 (bone) of the label description above."""
    data = np.zeros((4, 8, 8), np.int16)
    for index, value in enumerate((11, 12, 13, 14, 15, 16, 17, 30)):
        data[:, index, :] = value
    return save_image(data, Volume.from_array(data.astype(np.float32)), tmp_path / "foreign.nii.gz")


def test_names_of_other_tools_map_to_the_muscles():
    assert muscle_id_for_name("M. gastrocnemius medialis (left)") == 2
    assert muscle_id_for_name("ELD_R") == 6 and muscle_id_for_name("PE_L") == 5 and muscle_id_for_name("sol") == 3
    assert muscle_id_for_name("extensor digitorum longus + extensor hallucis longus") == 6
    assert muscle_id_for_name("tibia") == 0
    assert muscle_id_for_name("quadriceps") is None


def test_an_itksnap_label_file_with_dafne_names_relabels_a_foreign_map(foreign, tmp_path):
    description = tmp_path / "dafne.txt"
    description.write_text(ITKSNAP, encoding="utf-8")
    labels = load_labels(foreign, relabel=str(description)).data
    assert [int(labels[0, row, 0]) for row in range(8)] == [3, 2, 1, 4, 6, 5, 7, 0]


def test_inline_pairs_and_builtin_schemes():
    assert dict(label_scheme("13=GM, 15=gastrocnemius lateralis,17=3").mapping) == {13: 2, 15: 1, 17: 3}
    assert label_scheme("qmritools-calf").mapping[26] == 7


def test_a_scheme_that_leaves_values_unmapped_is_refused_naming_them(foreign):
    with pytest.raises(ImageValueError, match=r"foreign.nii.gz: relabel scheme '11=SOL,12=GM': label values 13, 14"):
        load_labels(foreign, relabel="11=SOL,12=GM")


@pytest.mark.parametrize("spec, message", [
    ("no-such-scheme", r"not a built-in scheme \(qmritools-calf, legseg\)"),
    ("13=quadriceps", r"'quadriceps' is not a muscle id 0..7 or a muscle name"),
    ("x=GM", r"'x=GM' is not VALUE=MUSCLE"),
])
def test_bad_schemes_get_one_line_errors(spec, message):
    with pytest.raises(LabelSchemeError, match=message):
        label_scheme(spec)


def test_an_itksnap_file_with_unknown_names_is_refused(tmp_path):
    description = tmp_path / "other.txt"
    description.write_text('    1   255 0 0   1 1 1  "quadriceps"\n', encoding="utf-8")
    with pytest.raises(LabelSchemeError, match=r"label names that match no muscle: 1 'quadriceps'"):
        label_scheme(str(description))


def test_the_out_of_range_error_names_the_option_and_the_fitting_scheme(tmp_path, capsys):
    data = np.zeros((4, 8, 8), np.int16)
    data[1, 2, 2], data[2, 3, 3] = 13, 26
    path = save_image(data, Volume.from_array(data.astype(np.float32)), tmp_path / "qmri.nii.gz")
    assert main(["measure", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert "--relabel SCHEME (--relabel qmritools-calf covers these values)" in error and "\n" not in error
    assert main(["measure", str(path), "--relabel", "qmritools-calf", "--json"]) == 0
    assert '"GM"' in capsys.readouterr().out


def test_a_bad_relabel_writes_nothing(foreign, tmp_path, capsys):
    csv = tmp_path / "out.csv"
    assert main(["measure", str(foreign), "--relabel", "11=SOL", "--csv", str(csv)]) == 2
    assert not csv.exists() and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_store_add_and_label_take_a_scheme(foreign, tmp_path, capsys):
    from legseg_core.io import load_volume
    from legseg_core.store import Store

    scan = save_image(load_volume(foreign).data.astype(np.float32), load_volume(foreign), tmp_path / "scan.nii.gz")
    store = tmp_path / "store"
    assert main(["store", "init", "--store", str(store), "--no-starter-models"]) == 0
    scheme = "11=SOL,12=GM,13=GL,14=TA,15=EDL,16=PER,17=TP,30=0"
    assert main(["store", "add", str(scan), "--store", str(store), "--labels", str(foreign), "--relabel", "11=SOL",
                 "--contrast", "t1w"]) == 2
    assert Store.open(store).cases() == []
    assert main(["store", "add", str(scan), "--store", str(store), "--labels", str(foreign), "--relabel", scheme,
                 "--contrast", "t1w", "--json"]) == 0
    case = Store.open(store).cases()[0]
    labels = Store.open(store).load_labels(case.accepted_version or Store.open(store).history(case.id)[0].id)
    assert [int(labels[0, row, 0]) for row in range(8)] == [3, 2, 1, 4, 6, 5, 7, 0]
