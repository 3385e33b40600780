"""Crash recovery of unsaved label edits: atomic autosave, one file per case, pending/restore/discard."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from legseg_core.recovery import (LEFTOVER_AGE_SECONDS, RECOVERY_FOLDER, TEMPORARY_PREFIX, RecoveryArea,
                                  RecoveryError, entry_key, recovery_folder)


def labels(value: int = 3, shape: tuple[int, int, int] = (4, 6, 8)) -> np.ndarray:
    data = np.zeros(shape, np.uint8)
    data[1:3, 2:4, 2:6] = value
    return data


def test_save_then_restore_round_trips_labels_and_header(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path / "recovery")
    saved = area.save(labels(), case_id="case-abc", base_version="v-1", spacing=(5.0, 1.5, 1.5),
                      details={"model": "model-7", "layer": "prediction (corrected)"})
    entry, restored = area.restore(saved.key, expected_shape=(4, 6, 8))
    np.testing.assert_array_equal(restored, labels())
    assert restored.dtype == np.uint8
    assert (entry.case_id, entry.base_version, entry.source) == ("case-abc", "v-1", None)
    assert entry.spacing == (5.0, 1.5, 1.5) and entry.shape == (4, 6, 8)
    assert entry.details == {"model": "model-7", "layer": "prediction (corrected)"}
    assert "case case-abc" in entry.description and "v-1" in entry.description


def test_one_file_per_case_newest_save_wins(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path)
    area.save(labels(1), case_id="c1")
    area.save(labels(2), case_id="c1")
    area.save(labels(5), case_id="c2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case-c1.npz", "case-c2.npz"]
    _, restored = area.restore("case-c1")
    assert set(np.unique(restored)) == {0, 2}


def test_source_files_are_keyed_by_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    area = RecoveryArea(tmp_path / "r")
    entry = area.save(labels(), source="scan.nii.gz")
    assert entry.source == str(tmp_path / "scan.nii.gz")
    assert entry.key == entry_key(source=tmp_path / "scan.nii.gz") and entry.key.startswith("file-")
    assert area.find(source=str(tmp_path / "scan.nii.gz")) == entry
    assert area.find(source=tmp_path / "other.nii.gz") is None


def test_a_scan_without_a_file_is_keyed_by_its_memory_name(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path)
    entry = area.save(labels(), source="memory:sample calf")
    assert entry.source == "memory:sample calf" and entry.description.startswith("unsaved scan sample calf, saved")
    assert area.find(source="memory:sample calf") == entry
    with pytest.raises(RecoveryError, match="non-empty path or memory:<name>"):
        area.save(labels(), source="memory:")


def test_an_unknown_schema_is_refused_by_name(tmp_path: Path) -> None:
    import json

    header = np.frombuffer(json.dumps({"schema": 99}).encode(), dtype=np.uint8)
    np.savez(tmp_path / "case-future.npz", labels=labels(), header=header)
    assert RecoveryArea(tmp_path).pending() == []
    with pytest.raises(RecoveryError, match="unknown recovery file schema 99"):
        RecoveryArea(tmp_path).restore("case-future")


def test_pending_lists_newest_first_and_discard_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import legseg_core.recovery as recovery

    class Clock(datetime):
        now_value = datetime(2030, 1, 1, tzinfo=timezone.utc)

        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return cls.now_value

    monkeypatch.setattr(recovery, "datetime", Clock)
    area = RecoveryArea(tmp_path)
    assert area.pending() == []
    first = area.save(labels(), case_id="old")
    Clock.now_value = datetime(2030, 1, 2, tzinfo=timezone.utc)
    area.save(labels(), case_id="new")
    assert [e.case_id for e in area.pending()] == ["new", "old"]
    assert first.saved == "2030-01-01T00:00:00+00:00"
    assert area.discard(first) is True
    assert area.discard("case-old") is False
    assert [e.case_id for e in area.pending()] == ["new"]


def test_a_damaged_file_is_skipped_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    area = RecoveryArea(tmp_path)
    area.save(labels(), case_id="good")
    (tmp_path / "case-bad.npz").write_bytes(b"PK\x03\x04 torn write")
    assert [e.case_id for e in area.pending()] == ["good"]
    assert "damaged recovery file" in caplog.text
    with pytest.raises(RecoveryError, match="case-bad.npz: not a readable recovery file"):
        area.restore("case-bad")
    assert area.find(case_id="bad") is None


def test_an_interrupted_save_leaves_the_previous_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    area = RecoveryArea(tmp_path)
    area.save(labels(4), case_id="c")

    def crash(*_args: object) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        area.save(labels(6), case_id="c")
    monkeypatch.undo()
    _, restored = area.restore("case-c")
    assert set(np.unique(restored)) == {0, 4}
    assert [p.name for p in tmp_path.iterdir()] == ["case-c.npz"]


def test_old_temporary_leftovers_are_ignored_then_removed(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path)
    old = tmp_path / f"{TEMPORARY_PREFIX}abc.npz"
    fresh = tmp_path / f"{TEMPORARY_PREFIX}def.npz"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    stale = time.time() - LEFTOVER_AGE_SECONDS - 60
    os.utime(old, (stale, stale))
    assert area.pending() == []
    area.save(labels(), case_id="c")
    assert not old.exists() and fresh.exists()


def test_restore_refuses_another_grid(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path)
    area.save(labels(), case_id="c")
    with pytest.raises(RecoveryError, match=r"shape \(4, 6, 8\).*has \(4, 6, 9\)"):
        area.restore("case-c", expected_shape=(4, 6, 9))


def test_restore_of_a_missing_entry_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RecoveryError, match="no recovery file .*case-gone.npz"):
        RecoveryArea(tmp_path).restore("case-gone")


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros((4, 4), np.uint8), "3D"),
    (np.zeros((0, 4, 4), np.uint8), "non-empty"),
    (np.full((2, 2, 2), 9, np.uint8), r"0\.\.7, found 9\.\.9"),
    (np.full((2, 2, 2), 0.5, np.float32), "whole numbers"),
])
def test_bad_labels_are_refused(tmp_path: Path, array: np.ndarray, message: str) -> None:
    with pytest.raises(RecoveryError, match=message):
        RecoveryArea(tmp_path).save(array, case_id="c")


def test_bad_keys_are_refused(tmp_path: Path) -> None:
    area = RecoveryArea(tmp_path)
    with pytest.raises(RecoveryError, match="exactly one case id or one source"):
        area.save(labels(), case_id="c", source="scan.nii")
    with pytest.raises(RecoveryError, match="exactly one case id or one source"):
        area.save(labels())
    with pytest.raises(RecoveryError, match=r"case id '\.\./x'"):
        area.save(labels(), case_id="../x")
    with pytest.raises(RecoveryError, match="non-empty path"):
        area.save(labels(), source="  ")
    with pytest.raises(RecoveryError, match="plain JSON"):
        area.save(labels(), case_id="c", details={"volume": object()})
    with pytest.raises(RecoveryError, match="'notes' is not a recovery key"):
        area.discard("notes")


def test_recovery_folder_is_in_the_store_or_the_user_data_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert recovery_folder(tmp_path / "store") == tmp_path / "store" / RECOVERY_FOLDER
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.platform", "linux")
    assert recovery_folder(None) == tmp_path / "xdg" / "legseg" / RECOVERY_FOLDER
    assert RecoveryArea.for_store(None).folder == tmp_path / "xdg" / "legseg" / RECOVERY_FOLDER
