"""What a hostile tester tried and must keep working: inputs that are odd but valid are read, odd
outputs are escaped, identities are scrubbed, and nothing is overwritten."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import DicomGeometryError, ImageFormatError, ImageShapeError
from legseg_core.io import load_volume
from legseg_core.io.dicom import scrub_description
from legseg_core.store import Store
from tests.bad_inputs import _save, good_labels, good_scan
from tests.dicom_factory import write_series


def _run(capsys, *arguments) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integer_scans_enter_the_store(tmp_path, capsys, dtype) -> None:
    scan = good_scan(tmp_path / "scan.nii.gz", dtype=dtype)
    store = Store.init(tmp_path / "store")
    code, out, err = _run(capsys, "store", "add", scan, "--store", store.root, "--labels",
                          good_labels(tmp_path / "labels.nii.gz"), "--accept", "--json")
    assert code == 0, err
    case = store.case(json.loads(out)["case"]["id"])
    assert case.status == "accepted"
    np.testing.assert_array_equal(store.load_image(case.id).data, load_volume(scan).data)


def test_dicom_positions_jittering_by_micrometres_load_evenly_spaced(tmp_path) -> None:
    pixels = np.random.default_rng(0).integers(0, 900, (5, 6, 5)).astype(np.uint16)
    write_series(tmp_path, pixels, slice_step=3.0)
    import pydicom

    for index, path in enumerate(sorted(tmp_path.glob("*.dcm"))):
        dataset = pydicom.dcmread(path)
        position = [float(v) for v in dataset.ImagePositionPatient]
        position[2] += 0.004 if index % 2 else -0.004
        dataset.ImagePositionPatient = [f"{v:.4f}" for v in position]
        dataset.save_as(path)
    volume = load_volume(tmp_path)
    assert volume.spacing[0] == pytest.approx(3.0, abs=0.01) and volume.shape[0] == 5


def test_dicom_truly_uneven_gaps_are_still_refused(tmp_path) -> None:
    pixels = np.random.default_rng(0).integers(0, 900, (4, 6, 5)).astype(np.uint16)
    write_series(tmp_path, pixels[:2])
    write_series(tmp_path / "more", pixels[2:], origin=(10.0, -20.0, 40.0),
                 series_uid=str(__import__("pydicom").dcmread(next(tmp_path.glob("*.dcm"))).SeriesInstanceUID))
    with pytest.raises(DicomGeometryError, match="not evenly spaced"):
        load_volume(tmp_path)


def test_a_truncated_dicom_slice_is_named_itself(tmp_path) -> None:
    write_series(tmp_path, np.random.default_rng(0).integers(0, 900, (4, 6, 5)).astype(np.uint16))
    damaged = sorted(tmp_path.glob("*.dcm"))[2]
    damaged.write_bytes(damaged.read_bytes()[:-25])
    with pytest.raises(ImageFormatError, match=damaged.name):
        load_volume(tmp_path)


def test_dicom_descriptions_are_scrubbed_to_mr_words(tmp_path, capsys) -> None:
    assert scrub_description("t1_tse_tra Doe^Jane 3D b800") == "t1_tse_tra *^* 3D b800"
    assert scrub_description("DIXON water calf left") == "DIXON water calf left"
    write_series(tmp_path / "series", np.ones((3, 6, 5), np.uint16), description="T2 axial John Smith")
    store = Store.init(tmp_path / "store")
    code, out, _ = _run(capsys, "store", "add", tmp_path / "series", "--store", store.root, "--json")
    assert code == 0
    technical = json.loads(out)["case"]["technical"]
    assert technical["SeriesDescription"] == "T2 axial * *"
    assert b"Smith" not in (store.root / "catalog.sqlite").read_bytes()


def test_csv_import_keeps_only_allow_listed_columns(tmp_path, capsys) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    good_scan(folder / "A.nii.gz")
    table = folder / "table.csv"
    table.write_text("case_id,contrast,fat_fraction_SOL,zip_code,subject_code,weight_kg,notes,side\n"
                     "A,t1w,0.12,12345,4711,80,Jane Doe from Springfield,left\n", encoding="utf-8")
    store = Store.init(tmp_path / "store")
    code, _, err = _run(capsys, "store", "import", folder, "--metadata", table, "--store", store.root)
    assert code == 0, err
    [case] = store.cases()
    assert case.metadata.extra == {"fat_fraction_SOL": 0.12, "side": "left"} and case.metadata.notes == ""


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tmp_path, capsys) -> None:
    for folder in ("reference", "prediction"):
        (tmp_path / folder).mkdir()
        good_labels(tmp_path / folder / '=HYPERLINK("http:x").nii.gz')
    out = tmp_path / "scores.csv"
    code, _, err = _run(capsys, "evaluate", "--reference", tmp_path / "reference", "--prediction",
                        tmp_path / "prediction", "--csv", out)
    assert code == 0, err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(row["case_id"] == "'=HYPERLINK(\"http:x\")" for row in rows)


def test_store_show_prints_terminal_escapes_escaped(tmp_path, capsys) -> None:
    store = Store.init(tmp_path / "store")
    case = store.add_case(good_scan(tmp_path / "scan.nii.gz"), notes="\x1b[2J\x1b[31mred\u202e")
    code, out, _ = _run(capsys, "store", "show", case.id, "--store", store.root)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\\x1b[31mred" in out


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(tmp_path, capsys, monkeypatch) -> None:
    import sys

    reading, writing = os.pipe()
    os.close(reading)

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return writing

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    labels = good_labels(tmp_path / "labels.nii.gz")
    assert main(["evaluate", "--reference", str(labels), "--prediction", str(labels), "--json"]) == 0
    assert capsys.readouterr().err == ""
    os.close(writing)


def test_segmenting_a_folder_into_itself_twice_never_segments_its_outputs(tmp_path, capsys) -> None:
    from legseg_core.io import save_image
    from legseg_core.phantom import make_case
    from tests.core.test_bad_inputs import _tiny_model

    volume = make_case(seed=1, size="tiny").images["dixon_water"]
    save_image(volume.data, volume, tmp_path / "scan.nii.gz")
    model = _tiny_model(tmp_path / "models")
    for _ in range(2):
        code, out, err = _run(capsys, "segment", tmp_path, "-o", tmp_path, "--model", model, "--no-progress",
                              "--device", "cpu", "--json")
        assert code == 0, err
        assert [Path(s["scan"]).name for s in json.loads(out)["scans"]] == ["scan.nii.gz"]
    assert sorted(p.name for p in tmp_path.glob("*.nii.gz")) == ["scan.nii.gz", "scan_labels.nii.gz"]


def test_the_memory_ceiling_refuses_a_scan_before_reading_it(tmp_path, monkeypatch) -> None:
    scan = good_scan(tmp_path / "scan.nii.gz")
    monkeypatch.setenv("LEGSEG_MAX_IMAGE_BYTES", "1000")
    with pytest.raises(ImageShapeError, match="memory ceiling .*LEGSEG_MAX_IMAGE_BYTES"):
        load_volume(scan)
    monkeypatch.delenv("LEGSEG_MAX_IMAGE_BYTES")
    assert load_volume(scan).shape == (6, 10, 12)


def test_a_frame_for_a_3d_scan_and_a_4d_label_file_are_refused(tmp_path, capsys) -> None:
    scan = good_scan(tmp_path / "scan.nii.gz")
    with pytest.raises(ImageShapeError, match="the image is 3D"):
        load_volume(scan, frame=2)
    code, _, err = _run(capsys, "info", scan, "--frame", "1") if "--frame" in _info_options() else (2, "", "x")
    assert code == 2
    four = _save(tmp_path / "four_labels.nii.gz", np.ones((12, 10, 6, 2), np.uint8))
    code, _, err = _run(capsys, "measure", four)
    assert code == 2 and "a label image must be 3D, this one has 2 frames" in err


def _info_options() -> str:
    from legseg_core.cli import build_parser

    return build_parser()._subparsers._group_actions[0].choices["info"].format_help()


def test_warnings_are_printed_once_on_one_line(tmp_path, capsys) -> None:
    import warnings

    from legseg_core.cli import _one_line_warning

    show = _one_line_warning(set())
    for _ in range(3):
        show(UserWarning("header\nsays odd things"), UserWarning, "x.py", 1)
    assert capsys.readouterr().err == "legseg: warning: header says odd things\n"
    assert warnings.showwarning is not show


def test_a_damaged_run_checkpoint_is_refused_without_advice_to_run_its_code(tmp_path) -> None:
    import torch

    from legseg_core.errors import TrainingError
    from legseg_core.training.checkpoints import load_torch
    from tests.bad_inputs import _Runs

    torch.save({"epoch": 1, "x": _Runs()}, tmp_path / "code.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "code.pt").read_bytes()[:300])
    for name in ("code.pt", "cut.pt"):
        with pytest.raises(TrainingError, match=name) as refused:
            load_torch(tmp_path / name)
        assert "weights_only" not in str(refused.value)


def test_starter_ship_refuses_a_binary_text_file_and_its_own_model_as_output(tmp_path, capsys) -> None:
    from tests.core.test_bad_inputs import _tiny_model

    model = _tiny_model(tmp_path)
    text, binary = tmp_path / "about.md", tmp_path / "commands.txt"
    text.write_text("about\n")
    binary.write_bytes(bytes(range(256)))
    options = ["--about", text, "--limits", text]
    code, _, err = _run(capsys, "starter", "ship", model, "--name", "x", "--out-dir", tmp_path / "out",
                        "--commands", binary, *options)
    assert code == 2 and "commands.txt: not UTF-8 text" in err and not (tmp_path / "out").exists()
    before = model.read_bytes()
    code, _, err = _run(capsys, "starter", "ship", model, "--name", "tiny", "--out-dir", tmp_path,
                        "--commands", text, *options)
    assert code == 2 and "is also an input" in err and model.read_bytes() == before


def test_a_nibabel_header_note_is_printed_once(tmp_path) -> None:
    import struct
    import subprocess
    import sys

    import nibabel as nib

    raw = bytearray(nib.Nifti1Image(np.ones((12, 10, 6), np.int16), np.diag([1.5, 1.5, 4.0, 1.0])).to_bytes())
    struct.pack_into("<3f", raw, 80, 0.0, 0.0, 0.0)  # pixdim 0; the sform still gives the grid
    (tmp_path / "scan.nii").write_bytes(bytes(raw))
    done = subprocess.run([sys.executable, "-m", "legseg_core.cli", "info", str(tmp_path / "scan.nii")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("pixdim[1,2,3] should be non-zero") == 1
