"""Every command, handed every kind of bad input: exit status 2, one line on stderr, no traceback,
and every input file byte for byte as it was (nothing lost, nothing overwritten)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from legseg_core.cli import main
from legseg_core.models import ModelCard, build_model, save_checkpoint
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry
from tests.bad_inputs import (LABEL_MAKERS, SCAN_MAKERS, bad_dicom, bad_labels, bad_models, bad_scans, bad_tables,
                              good_labels, good_scan)

DICOM_KINDS = ("dicom mixed sizes", "dicom truncated slice", "dicom uneven gaps")
MODEL_KINDS = ("model garbage", "model truncated", "model huge channels", "model weights not tensors",
               "model nan weights", "model card not json", "model card wrong types", "model runs code", "model fifo")
TABLE_KINDS = ("table not utf-8", "table binary", "table empty")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """The bad inputs and a few good ones (scan, labels, tiny model, store), in one folder."""
    folder = tmp_path_factory.mktemp("corpus")
    model = _tiny_model(folder)
    files = {"scan": good_scan(folder / "scan.nii.gz"), "labels": good_labels(folder / "scan_labels.nii.gz"),
             "model": model, "file": folder / "plain.txt", "store": folder / "store"}
    files["file"].write_text("a file, not a folder\n")
    assert main(["store", "init", "--store", str(files["store"]), "--no-starter-models"]) == 0
    with Store.open(files["store"]) as store:
        files["case"] = Path(store.add_case(files["scan"]).id)
    files.update(bad_scans(folder / "scans"))
    files.update(bad_labels(folder / "labels"))
    files.update(bad_dicom(folder))
    files.update(bad_models(folder / "models", model))
    files.update(bad_tables(folder / "tables"))
    return files


def _tiny_model(folder: Path) -> Path:
    """A tiny U-Net model file (random weights) in ``folder``."""
    torch.manual_seed(0)
    network = build_model("unet", "lite", channels=(4, 8, 8), strides=[(1, 2, 2), (2, 2, 2)])
    return save_checkpoint(network, ModelCard.for_network(network), folder / "tiny.pt")


def _fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under ``folder`` (the store's catalog aside: commands may open it)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "store" not in p.parts}


def _refused(corpus: dict[str, Path], capsys, arguments: list[str]) -> str:
    """Run a command that must be refused; check the rules and return its one line."""
    root = corpus["scan"].parent
    before = _fingerprint(root)
    capsys.readouterr()
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, (arguments, captured.err, captured.out)
    assert "Traceback" not in captured.err + captured.out
    assert len(lines) == 1 and lines[0].startswith("legseg: error: "), lines
    assert _fingerprint(root) == before, "an input file was changed"
    return lines[0]


def _scan_commands(corpus: dict[str, Path], bad: Path, out: Path) -> dict[str, list]:
    good = corpus["labels"]
    return {"info": ["info", bad],
            "segment": ["segment", bad, "-o", out / "labels.nii.gz", "--model", corpus["model"], "--no-progress",
                        "--device", "cpu"],
            "store add": ["store", "add", bad, "--store", corpus["store"]],
            "measure": ["measure", bad],
            "overlap": ["overlap", "--reference", bad, "--prediction", good, "-o", out / "overlap.nii.gz"],
            "evaluate": ["evaluate", "--reference", good, "--prediction", bad]}


@pytest.mark.parametrize("command", ["info", "segment", "store add", "measure", "overlap", "evaluate"])
@pytest.mark.parametrize("kind", [*SCAN_MAKERS, *DICOM_KINDS])
def test_every_command_refuses_every_bad_scan(corpus, capsys, tmp_path, kind: str, command: str) -> None:
    if kind.startswith("dicom") and command not in ("info", "segment", "store add"):
        return  # label commands read NIfTI label maps; DICOM series are scans
    line = _refused(corpus, capsys, _scan_commands(corpus, corpus[kind], tmp_path)[command])
    assert str(corpus[kind]) in line or corpus[kind].name in line, line
    assert not any(tmp_path.iterdir()), "a refused command wrote an output"


@pytest.mark.parametrize("kind", list(LABEL_MAKERS))
@pytest.mark.parametrize("command", ["store add", "store label", "measure", "overlap", "evaluate"])
def test_every_command_refuses_every_bad_label_file(corpus, capsys, tmp_path, kind: str, command: str) -> None:
    bad = corpus[kind]
    arguments = {"store add": ["store", "add", corpus["scan"], "--labels", bad, "--store", corpus["store"],
                               "--accept", "--allow-duplicate"],
                 "store label": ["store", "label", corpus["case"].name, bad, "--provenance", "manual", "--store",
                                 corpus["store"]],
                 "measure": ["measure", bad],
                 "overlap": ["overlap", "--reference", corpus["labels"], "--prediction", bad, "-o",
                             tmp_path / "o.nii.gz"],
                 "evaluate": ["evaluate", "--reference", corpus["labels"], "--prediction", bad]}[command]
    if kind == "labels on another grid" and command == "measure":
        return  # a label map on its own grid is a valid label map
    before = _case_count(corpus["store"], capsys)
    _refused(corpus, capsys, arguments)
    if command == "store add":  # all or nothing: the scan was not added without its labels
        assert _case_count(corpus["store"], capsys) == before
    if command == "store label":
        with Store.open(corpus["store"]) as store:
            assert store.case(corpus["case"].name).version_count == 0


def _case_count(store: Path, capsys) -> int:
    import json

    capsys.readouterr()
    assert main(["store", "list", "--store", str(store), "--json"]) == 0
    return len(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_segment_and_ship_refuse_every_bad_model_file(corpus, capsys, tmp_path, kind: str) -> None:
    line = _refused(corpus, capsys, ["segment", corpus["scan"], "-o", tmp_path / "l.nii.gz", "--model", corpus[kind],
                                     "--no-progress", "--device", "cpu"])
    assert "weights_only" not in line and corpus[kind].name in line
    notes = tmp_path / "notes.md"
    notes.write_text("notes\n")
    _refused(corpus, capsys, ["starter", "ship", corpus[kind], "--name", "bad", "--out-dir", tmp_path / "ship",
                              "--commands", notes, "--about", notes, "--limits", notes])
    assert not (tmp_path / "ship").exists()


@pytest.mark.parametrize("kind", [kind for kind in MODEL_KINDS if kind != "model fifo"])
def test_models_promote_refuses_every_bad_model_file(corpus, capsys, kind: str) -> None:
    with Store.open(corpus["store"]) as store:
        registry = ModelRegistry(store)
        payload = corpus[kind].read_bytes()
        candidate = registry.register(lambda path, model_id: path.write_bytes(payload), architecture="unet",
                                      training={}, metrics={}, status="candidate")
        _refused(corpus, capsys, ["models", "promote", candidate.id, "--store", corpus["store"]])
        assert registry.get(candidate.id).status == "candidate" and registry.active() is None


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_store_import_refuses_unreadable_tables(corpus, capsys, kind: str) -> None:
    line = _refused(corpus, capsys, ["store", "import", corpus[kind].parent, "--metadata", corpus[kind],
                                     "--store", corpus["store"]])
    assert corpus[kind].name in line


def _output_cases(corpus: dict[str, Path], tmp: Path) -> dict[str, list]:
    scan, labels, model, file = corpus["scan"], corpus["labels"], corpus["model"], corpus["file"]
    long_name = tmp / ("x" * 300 + ".nii.gz")
    return {
        "segment onto its scan": ["segment", scan, "-o", scan, "--model", model, "--no-progress"],
        "segment under a file": ["segment", scan, "-o", file / "out", "--model", model, "--no-progress"],
        "segment name too long": ["segment", scan, "-o", long_name, "--model", model, "--no-progress"],
        "overlap onto its reference": ["overlap", "--reference", labels, "--prediction", labels, "-o", labels],
        "overlap png onto a folder": ["overlap", "--reference", labels, "--prediction", labels, "-o",
                                      tmp / "o.nii.gz", "--png", tmp],
        "overlap into a missing folder under a file": ["overlap", "--reference", labels, "--prediction", labels,
                                                       "-o", file / "o.nii.gz"],
        "measure csv onto its labels": ["measure", labels, "--csv", labels],
        "measure csv onto a folder": ["measure", labels, "--csv", tmp],
        "evaluate csv onto its reference": ["evaluate", "--reference", labels, "--prediction", labels, "--csv",
                                            labels],
        "evaluate plot onto a file": ["evaluate", "--reference", labels, "--prediction", labels, "--plot", file],
        "evaluate markdown name too long": ["evaluate", "--reference", labels, "--prediction", labels,
                                            "--markdown", long_name.with_suffix(".md")],
        "store export onto a file": ["store", "export", file, "--format", "nnunet", "--store", corpus["store"]],
    }


@pytest.mark.parametrize("case", list(_output_cases({k: Path("x") for k in ("scan", "labels", "model", "file",
                                                                              "store")}, Path("t"))))
def test_outputs_that_cannot_be_written_are_refused_before_any_work(corpus, capsys, tmp_path, case: str) -> None:
    (tmp_path / "keep").write_text("kept\n")
    line = _refused(corpus, capsys, _output_cases(corpus, tmp_path)[case])
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]
    assert "Traceback" not in line


def test_unwritable_folder_is_refused_before_any_work(corpus, capsys, tmp_path, monkeypatch) -> None:
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == folder else real(path, mode))
    line = _refused(corpus, capsys, ["segment", corpus["scan"], "-o", folder / "l.nii.gz", "--model",
                                     corpus["model"], "--no-progress"])
    assert "permission denied" in line and not any(folder.iterdir())
