"""`legseg store ...` end to end: every subcommand, bulk import, export layouts, DICOM privacy."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.io import Volume, save_image, save_labels
from legseg_core.store import Store
from tests.dicom_factory import write_series

SHAPE = (3, 6, 5)


def _scan(folder: Path, name: str, seed: int) -> tuple[Path, Volume]:
    data = np.random.default_rng(seed).integers(0, 500, SHAPE).astype(np.int16)
    volume = Volume.from_array(data, (5.0, 1.2, 1.2))
    folder.mkdir(parents=True, exist_ok=True)
    return save_image(data, volume, folder / name), volume


def _labels(folder: Path, name: str, like: Volume, value: int = 3) -> Path:
    labels = np.zeros(SHAPE, np.uint8)
    labels[1:, 2:5, 1:4] = value
    return save_labels(labels, like, folder / name)


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture, *argv: str):
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store"
    monkeypatch.setenv("LEGSEG_STORE", str(path))
    return path


def test_commands_on_a_missing_store_say_how_to_create_it(store_path: Path, capsys) -> None:
    code, out, err = _run(capsys, "store", "list")
    assert code == 2 and "no LegSeg store at" in err and "legseg store init" in err and "Traceback" not in err
    assert _run(capsys, "store", "init", "--splits", "60/20/20")[0] == 0
    code, out, _ = _run(capsys, "store", "init")
    assert code == 0 and "exists already" in out
    assert Store.open(store_path).splits.train == pytest.approx(0.6)


def test_add_label_accept_list_show_history_summary_verify(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    scan, volume = _scan(tmp_path / "in", "scan.nii.gz", 1)
    fat, _ = _scan(tmp_path / "in", "fat.nii.gz", 2)
    labels = _labels(tmp_path / "in", "labels.nii.gz", volume)
    added = _json(capsys, "store", "add", str(scan), "--labels", str(labels), "--contrast", "T1w", "--health",
                  "patient", "--diagnosis", "Pompe", "--protocol", "A", "--site", "centre 2", "--image",
                  f"dixon_fat={fat}", "--author", "reader")
    case_id, first = added["case"]["id"], added["label_version"]["id"]
    assert added["case"]["images"] == ["image", "dixon_fat"] and added["case"]["status"] == "in_review"
    assert added["label_version"]["voxels"]["SOL"] == 18 and added["label_version"]["author"] == "reader"
    corrected = _labels(tmp_path / "in", "corrected.nii.gz", volume, value=4)
    code, out, err = _run(capsys, "store", "label", case_id, str(corrected), "--provenance", f"corrected:{first}",
                          "--note", "TA not SOL")
    assert code == 0 and "parent " + first in out and "TA +18/-0; SOL +0/-18" in out.replace("SOL +0/-18; TA +18/-0",
                                                                                            "TA +18/-0; SOL +0/-18")
    accepted = _json(capsys, "store", "accept", case_id, "--version", first)
    assert accepted["accepted_version"] == first and accepted["status"] == "accepted"
    listed = _json(capsys, "store", "list", "--filter", "health=patient", "--filter", "contrast=t1w")
    assert [c["id"] for c in listed] == [case_id] and listed[0]["version_count"] == 2
    assert _json(capsys, "store", "list", "--filter", "health=healthy") == []
    code, out, _ = _run(capsys, "store", "list")
    assert case_id in out and "t1w" in out and "accepted" in out
    code, out, _ = _run(capsys, "store", "show", case_id)
    assert "Pompe" in out and "dixon_fat" in out and "labelled" in out and "centre 2" in out
    history = _json(capsys, "store", "history", case_id)
    assert [v["accepted"] for v in history] == [True, False] and history[1]["parent_id"] == first
    code, out, _ = _run(capsys, "store", "history", case_id)
    assert "[accepted]" in out and f"corrected:{first}" in out
    summary = _json(capsys, "store", "summary")
    assert summary["by_contrast_and_health"] == {"t1w": {"patient": 1}} and summary["label_versions"] == 2
    code, out, _ = _run(capsys, "store", "summary")
    assert "contrast" in out and "patient" in out and "1 (1)" in out
    assert _json(capsys, "store", "verify")["ok"] is True
    assert _json(capsys, "store", "status", case_id, "excluded", "--reason", "motion")["status"] == "excluded"
    assert _json(capsys, "store", "update", case_id, "--diagnosis", "IBM")["diagnosis"] == "IBM"


def test_user_errors_are_one_line_messages(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    scan, volume = _scan(tmp_path / "in", "scan.nii.gz", 1)
    checks = [
        (("store", "add", str(scan), "--image", "dixon_fat"), "--image 'dixon_fat' must have the form NAME=PATH"),
        (("store", "add", str(scan), "--image", f"../up={scan}"), "image name '../up' is not allowed"),
        (("store", "add", str(tmp_path / "none.nii.gz")), "none.nii.gz: no such file or folder"),
        (("store", "add", str(scan), "--health", "ill"), "health status 'ill' is not one of"),
        (("store", "list", "--filter", "health"), "--filter 'health' must have the form KEY=VALUE"),
        (("store", "list", "--filter", "name=x"), "cannot filter cases by 'name'"),
        (("store", "show", "../../etc"), "'../../etc' is not a case id"),
        (("store", "accept", "case-000000000000"), "no case case-000000000000"),
        (("store", "export", "--format", "monai", str(tmp_path / "out")), "no accepted cases to export"),
        (("store", "init", "--store", str(tmp_path / "x"), "--splits", "1/2"), "must be three numbers"),
    ]
    for argv, message in checks:
        code, _, err = _run(capsys, *argv)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)


def test_verify_exits_non_zero_on_a_damaged_store(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    scan, _ = _scan(tmp_path / "in", "scan.nii.gz", 1)
    case_id = _json(capsys, "store", "add", str(scan))["case"]["id"]
    (store_path / "cases" / case_id / "image.nii.gz").chmod(0o644)
    (store_path / "cases" / case_id / "image.nii.gz").write_bytes(b"overwritten")
    code, out, _ = _run(capsys, "store", "verify")
    assert code == 1 and "1 problems" in out and "image.nii.gz" in out


def _accepted_store(store_path: Path, tmp_path: Path, capsys, count: int = 8) -> list[str]:
    _run(capsys, "store", "init")
    ids = []
    for seed in range(count):
        scan, volume = _scan(tmp_path / "in", f"scan{seed}.nii.gz", seed)
        labels = _labels(tmp_path / "in", f"labels{seed}.nii.gz", volume, value=1 + seed % 7)
        added = _json(capsys, "store", "add", str(scan), "--labels", str(labels), "--accept",
                      "--contrast", "dixon_water", "--health", "healthy" if seed % 2 else "patient")
        ids.append(added["case"]["id"])
    return ids


def test_export_nnunet_raw_layout(store_path: Path, tmp_path: Path, capsys) -> None:
    ids = _accepted_store(store_path, tmp_path, capsys)
    exported = _json(capsys, "store", "export", "--format", "nnunet", str(tmp_path / "raw"), "--dataset-id", "42")
    folder = Path(exported["path"])
    assert folder == tmp_path / "raw" / "Dataset042_LegSeg"
    dataset = json.loads((folder / "dataset.json").read_text())
    assert dataset["labels"] == {"background": 0, "GL": 1, "GM": 2, "SOL": 3, "TA": 4, "PER": 5, "EDL": 6, "TP": 7}
    assert dataset["channel_names"] == {"0": "dixon_water"} and dataset["file_ending"] == ".nii.gz"
    cases = json.loads((folder / "legseg_cases.json").read_text())
    assert sorted(c["case_id"] for c in cases) == sorted(ids)
    training = [c for c in cases if c["split"] != "test"]
    assert dataset["numTraining"] == len(training) == len(list((folder / "imagesTr").glob("*_0000.nii.gz")))
    for entry in cases:
        assert (folder / entry["image"]).is_file() and (folder / entry["label"]).is_file()
        stored = Store.open(store_path).load_labels(entry["label_version"])
        from legseg_core.io import load_volume

        np.testing.assert_array_equal(load_volume(folder / entry["label"]).data, stored)
    folds = json.loads((folder / "splits_final.json").read_text())
    assert sorted(folds[0]["train"] + folds[0]["val"]) == sorted(c["case_id"] for c in training)
    code, _, err = _run(capsys, "store", "export", "--format", "nnunet", str(tmp_path / "raw"), "--dataset-id", "42")
    assert code == 2 and "is not an empty folder" in err


def test_export_monai_datalist(store_path: Path, tmp_path: Path, capsys) -> None:
    ids = _accepted_store(store_path, tmp_path, capsys)
    code, out, _ = _run(capsys, "store", "export", "--format", "monai", str(tmp_path / "monai"),
                        "--filter", "health=patient")
    assert code == 0 and "datalist.json" in out
    datalist = json.loads((tmp_path / "monai" / "datalist.json").read_text())
    entries = datalist["training"] + datalist["validation"] + datalist["test"]
    assert len(entries) == 4 and {e["health"] for e in entries} == {"patient"}
    assert {e["case_id"] for e in entries} <= set(ids)
    assert datalist["labels"]["3"] == "SOL"
    for entry in entries:
        assert (tmp_path / "monai" / entry["image"]).is_file() and (tmp_path / "monai" / entry["label"]).is_file()


def _cohort(folder: Path) -> Path:
    """A phantom-like cohort: files found by the naming rule, and one row with explicit columns."""
    for number in range(3):
        _, volume = _scan(folder, f"phantom-{number:03d}_t1w.nii.gz", 10 + number)
        _labels(folder, f"phantom-{number:03d}_labels.nii.gz", volume, value=number + 1)
    _, volume = _scan(folder / "explicit", "scan.nii.gz", 20)
    _scan(folder / "explicit", "fat.nii.gz", 21)
    _labels(folder / "explicit", "seg.nii.gz", volume)
    table = folder / "metadata.csv"
    table.write_text(
        "case_id,contrast,protocol,slices,voxel size,health,diagnosis,fat_fraction_SOL,PatientName,patient_id,"
        "birth_date,image,labels,image:dixon_fat\n"
        "phantom-000,T1w,A,3,5x1.2x1.2,healthy,,0.04,Doe^Jane,PID-12345,19700101,,,\n"
        "phantom-001,t1w,A,3,5x1.2x1.2,patient,Pompe,0.35,Doe^John,PID-67890,19800101,,,\n"
        "phantom-002,t1w,A,9,5x1.2x1.2,patient,IBM,0.5,,,,,,\n"
        "other,dixon_water,B,3,5x1.2x1.2,control,,0.1,,,,"
        "explicit/scan.nii.gz,explicit/seg.nii.gz,explicit/fat.nii.gz\n",
        encoding="utf-8")
    return table


def test_import_reads_a_cohort_table_and_can_run_again(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    table = _cohort(tmp_path / "cohort")
    report = _json(capsys, "store", "import", str(tmp_path / "cohort"), "--metadata", str(table), "--accept",
                   "--provenance", "synthetic:phantom")
    assert len(report["added"]) == 4 and len(report["labelled"]) == 4 and report["failed"] == []
    store = Store.open(store_path)
    cases = store.cases()
    assert [c.metadata.diagnosis for c in cases] == ["", "Pompe", "IBM", ""]
    assert [c.metadata.health for c in cases] == ["healthy", "patient", "patient", "healthy"]
    assert cases[1].metadata.extra == {"fat_fraction_SOL": 0.35} and cases[3].images == ("image", "dixon_fat")
    assert all(c.status == "accepted" for c in cases)
    assert store.history(cases[0].id)[0].provenance == "synthetic:phantom"
    assert store.find_by_source_name("phantom-001") == [cases[1]]
    again = _json(capsys, "store", "import", str(tmp_path / "cohort"), "--metadata", str(table))
    assert again["added"] == [] and len(again["existing"]) == 4 and again["labelled"] == []
    _assert_nothing_identifying(store_path, (b"Doe", b"Jane", b"PID-12345", b"PID-67890", b"19700101"))


def test_import_stops_at_a_bad_row_unless_asked_to_keep_going(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    folder = tmp_path / "cohort"
    _scan(folder, "a.nii.gz", 1)
    table = folder / "table.csv"
    table.write_text("case;image;health\nA;a.nii.gz;healthy\nB;missing.nii.gz;healthy\nC;;sick\n", encoding="utf-8")
    code, _, err = _run(capsys, "store", "import", str(folder), "--metadata", str(table))
    assert code == 2 and "table.csv, row 3: the image" in err and "missing.nii.gz does not exist" in err
    code, out, _ = _run(capsys, "store", "import", str(folder), "--metadata", str(table), "--keep-going")
    assert code == 1 and "2 rows failed" in out and "no image column and no image file found for case 'C'" in out
    assert len(Store.open(store_path).cases()) == 1
    code, _, err = _run(capsys, "store", "import", str(folder), "--metadata", str(folder / "none.csv"))
    assert code == 2 and "none.csv: no such metadata table" in err


def test_dicom_import_keeps_no_patient_data(store_path: Path, tmp_path: Path, capsys) -> None:
    _run(capsys, "store", "init")
    series = tmp_path / "Doe_Jane_PID-12345"
    pixels = np.random.default_rng(0).integers(0, 900, (4, 6, 5)).astype(np.uint16)
    write_series(series, pixels, description="t1w axial")
    added = _json(capsys, "store", "add", str(series), "--contrast", "t1w", "--health", "patient")
    technical = added["case"]["technical"]
    assert technical["format"] == "dicom" and technical["SeriesDescription"] == "t1w axial"
    assert not any("Patient" in key for key in technical)
    store = Store.open(store_path)
    np.testing.assert_array_equal(store.load_image(added["case"]["id"]).data.shape, (4, 6, 5))
    _assert_nothing_identifying(store_path, (b"Doe", b"Jane", b"PID-12345", b"19700101", b"1.2.3.4"))


def _assert_nothing_identifying(root: Path, needles: tuple[bytes, ...]) -> None:
    """No file of the store (catalog, its WAL, every NIfTI unpacked) holds any of ``needles``."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "catalog.sqlite" for p in files)
    for path in files:
        payload = path.read_bytes()
        if path.name.endswith(".gz"):
            payload = gzip.decompress(payload)
        for needle in needles:
            assert needle not in payload, f"{needle!r} found in {path}"


def test_store_benchmark_reports_its_figures_and_targets(capsys) -> None:
    import argparse

    from legseg_core.bench import store as bench

    result = bench.run(argparse.Namespace(shape=(4, 16, 16), cases=12, repeats=1))
    assert [row["what"] for row in result.rows] == ["add a 16x16x4 case (int16)",
                                                    "commit a label version (16x16x4, a correction)", "list 12 cases"]
    assert all(row["median_s"] > 0 for row in result.rows)
    assert [t["what"] for t in result.targets] == ["label version commit (16x16x4)", "list 12 cases"]
    quick = bench.quick_arguments()
    assert tuple(quick.shape) == (90, 320, 320) and quick.cases == 1000
    scan, labels = bench.synthetic_case((5, 40, 40))
    assert scan.dtype == np.int16 and set(np.unique(labels)) == set(range(8))


def test_a_phantom_cohort_imports_as_it_is(store_path: Path, tmp_path: Path, capsys) -> None:
    code, _, err = _run(capsys, "phantom", "cohort", "--n", "2", "--out", str(tmp_path / "cohort"), "--seed", "3",
                        "--size", "tiny", "--no-progress")
    assert code == 0, err
    _run(capsys, "store", "init")
    report = _json(capsys, "store", "import", str(tmp_path / "cohort"), "--metadata",
                   str(tmp_path / "cohort" / "metadata.csv"), "--provenance", "synthetic:phantom", "--accept")
    assert len(report["added"]) == 2 and len(report["labelled"]) == 2 and report["failed"] == []
    table = (tmp_path / "cohort" / "metadata.csv").read_text().splitlines()
    header = table[0].split(",")
    with Store.open(store_path) as store:
        for line, case in zip(table[1:], store.cases()):
            row = dict(zip(header, line.split(",")))
            contrasts = row["contrast"].split("+")
            assert case.metadata.contrast == contrasts[0] and case.images == ("image", *contrasts[1:])
            assert case.metadata.health == row["health"] and case.metadata.protocol == row["protocol"]
            assert case.slices == int(row["slices"]) and case.status == "accepted"
            assert case.metadata.extra["fat_fraction_SOL"] == pytest.approx(float(row["fat_fraction_SOL"]))
            assert case.metadata.extra["legs"] == row["legs"]
            labels = store.load_labels(case.accepted_version)
            assert labels.shape == case.shape and labels.max() == 7
