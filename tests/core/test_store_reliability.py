"""Nothing is lost: processes killed mid-write, two writers at once, interrupted commits, leftovers."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from legseg_core.errors import GridMismatchError, StoreError
from legseg_core.io import Volume
from legseg_core.store import Store
from legseg_core.store import writes

SHAPE = (3, 6, 5)
CONTEXT = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _volume(seed: int) -> Volume:
    data = np.random.default_rng(seed).integers(0, 1000, SHAPE).astype(np.int16)
    return Volume.from_array(data, (4.0, 1.0, 1.0))


def _labels(value: int) -> np.ndarray:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[:, 1:4, 1:4] = value
    return labels


def _note(log: Path, line: str) -> None:
    """Append one committed id to the log (one write call, so a kill never leaves half a line)."""
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _writer(root: str, log: str, ready, start, seed: int, cases: int) -> None:
    """Add cases with two label versions each and accept them; note every committed id."""
    store = Store.open(root)
    rng = random.Random(seed)
    ready.set()
    start.wait(30)
    for number in range(cases):
        case = store.add_case(_volume(seed * 100_000 + number), contrast=rng.choice(["t1w", "dixon_fat"]),
                              health=rng.choice(["healthy", "patient"]))
        _note(Path(log), f"case {case.id}")
        first = store.add_label_version(case.id, _labels(rng.randint(1, 7)))
        _note(Path(log), f"version {first.id}")
        second = store.add_label_version(case.id, _labels(rng.randint(1, 7)), provenance=f"corrected:{first.id}")
        _note(Path(log), f"version {second.id}")
        store.accept(case.id, second.id)
    store.close()


def _start(root: Path, log: Path, seed: int, cases: int, start=None):
    ready, start = CONTEXT.Event(), start or CONTEXT.Event()
    process = CONTEXT.Process(target=_writer, args=(str(root), str(log), ready, start, seed, cases))
    process.start()
    if not ready.wait(60):
        process.kill()
        raise RuntimeError("the writer process did not start")
    return process, start


def _committed(log: Path) -> tuple[list[str], list[str]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return ([line.split()[1] for line in lines if line.startswith("case ")],
            [line.split()[1] for line in lines if line.startswith("version ")])


def _wait_for_commits(log: Path, count: int, start) -> None:
    start.set()
    deadline = time.monotonic() + 20
    while sum(len(ids) for ids in _committed(log)) < count and time.monotonic() < deadline:
        time.sleep(0.002)


def test_killing_writers_at_random_moments_loses_nothing_committed(tmp_path: Path) -> None:
    root, log = tmp_path / "store", tmp_path / "committed.log"
    Store.init(root).close()
    rng = random.Random(6)
    for attempt in range(14):
        process, start = _start(root, log, seed=attempt + 1, cases=1000)
        # The moment: after 0 to 3 further commits, then anywhere within the next write.
        _wait_for_commits(log, sum(len(ids) for ids in _committed(log)) + rng.randint(0, 3), start)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
        assert process.exitcode == -signal.SIGKILL
    cases, versions = _committed(log)
    assert len(versions) >= 5, "the writers were killed before committing anything; the test proves nothing"
    with Store.open(root) as store:
        report = store.verify()
        assert report.ok, report.problems
        stored = {c.id: c for c in store.cases()}
        assert set(cases) <= set(stored)
        for version_id in versions:
            labels = store.load_labels(version_id)  # present, and its checksum matches
            assert labels.shape == SHAPE and labels.max() >= 1
        for case in stored.values():
            assert case.version_count == len(store.history(case.id))
            assert case.status in ("new", "in_review", "accepted")
        repaired = store.verify(repair=True, grace_seconds=0)
        assert repaired.ok and repaired.leftovers == []
        assert store.verify().ok and {c.id for c in store.cases()} == set(stored)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    start = CONTEXT.Event()
    writers = [_start(root, tmp_path / f"writer{n}.log", seed=n + 1, cases=8, start=start)[0] for n in range(2)]
    start.set()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    with Store.open(root) as store:
        assert store.verify().ok
        cases = store.cases()
        assert len(cases) == 16 and all(c.status == "accepted" and c.version_count == 2 for c in cases)
        for n in range(2):
            logged_cases, logged_versions = _committed(tmp_path / f"writer{n}.log")
            assert len(logged_cases) == 8 and len(logged_versions) == 16
            assert all(store.version(v).case_id in logged_cases for v in logged_versions)
        summary = store.summary()
        assert summary.cases == 16 and summary.label_versions == 32


def test_a_failed_commit_leaves_neither_row_nor_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.init(tmp_path / "store")
    case = store.add_case(_volume(1))
    kept = store.add_label_version(case.id, _labels(2))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writes, "insert_version", crash)
    with pytest.raises(KeyboardInterrupt):
        store.add_label_version(case.id, _labels(3))
    monkeypatch.setattr(writes, "insert_case", crash)
    with pytest.raises(KeyboardInterrupt):
        store.add_case(_volume(2))
    monkeypatch.undo()
    assert [v.id for v in store.history(case.id)] == [kept.id] and len(store.cases()) == 1
    report = store.verify()
    assert report.ok and report.leftovers == []
    np.testing.assert_array_equal(store.load_labels(kept.id), _labels(2))
    store.close()


def test_leftovers_are_reported_and_repaired_after_the_grace_period(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "store")
    case = store.add_case(_volume(1))
    version = store.add_label_version(case.id, _labels(2))
    labels_folder = store.label_path(version.id).parent
    (labels_folder / ".tmp-0123-lv-aaaaaaaaaaaa.nii.gz").write_bytes(b"half a file")
    orphan = store.root / "cases" / "case-0000000000ff"
    orphan.mkdir()
    (orphan / "image.nii.gz").write_bytes(b"a file whose row was never committed")
    report = store.verify()
    assert report.ok and len(report.leftovers) == 2 and report.checked_files == 2
    assert store.verify(repair=True, grace_seconds=3600).removed == []
    repaired = store.verify(repair=True, grace_seconds=0)
    assert sorted(repaired.removed) == sorted([*report.leftovers, "cases/case-0000000000ff"])
    assert repaired.leftovers == []
    assert not orphan.exists() and store.label_path(version.id).is_file()
    assert store.verify().ok
    store.close()


def test_verify_reports_missing_and_changed_files(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "store")
    case = store.add_case(_volume(1))
    version = store.add_label_version(case.id, _labels(2))
    store.label_path(version.id).chmod(0o644)
    store.label_path(version.id).write_bytes(b"not the labels")
    store.image_path(case.id).unlink()
    report = store.verify()
    assert not report.ok
    assert any("image.nii.gz: missing" in p for p in report.problems)
    assert any(f"{version.id}.nii.gz: 14 bytes, the catalog says" in p for p in report.problems)
    assert store.verify(repair=True, grace_seconds=0).removed == []  # catalogued files are never removed
    store.close()


def _killed_while_labelling(root: str, case_id: str, parent: str, kill_point: str) -> None:
    """Add a label version, killing this process with SIGKILL at ``kill_point``."""
    from legseg_core import atomic

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    target = {"renaming the file": (atomic.os, "replace"), "before the transaction": (writes, "insert_version"),
              "inside the transaction": (writes, "add_event")}[kill_point]
    setattr(*target, die)
    Store.open(root).add_label_version(case_id, _labels(5), provenance=f"corrected:{parent}")


@pytest.mark.parametrize("kill_point", ["renaming the file", "before the transaction", "inside the transaction"])
def test_a_kill_at_each_step_of_a_commit_keeps_the_previous_state(tmp_path: Path, kill_point: str) -> None:
    with Store.init(tmp_path / "store") as store:
        case = store.add_case(_volume(1))
        kept = store.add_label_version(case.id, _labels(2))
        store.accept(case.id)
    process = CONTEXT.Process(target=_killed_while_labelling,
                              args=(str(tmp_path / "store"), case.id, kept.id, kill_point))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    with Store.open(tmp_path / "store") as store:
        report = store.verify()
        assert report.ok and len(report.leftovers) == 1  # the new file, never catalogued
        assert [v.id for v in store.history(case.id)] == [kept.id]
        assert store.case(case.id).accepted_version == kept.id and store.case(case.id).version_count == 1
        np.testing.assert_array_equal(store.load_labels(kept.id), _labels(2))
        assert store.verify(repair=True, grace_seconds=0).leftovers == []
        again = store.add_label_version(case.id, _labels(5), provenance=f"corrected:{kept.id}")
        assert store.verify().ok and store.case(case.id).latest_version == again.id


def _killed_while_adding(root: str, kill_point: str) -> None:
    """Add a case with labels, accepted, killing this process with SIGKILL at ``kill_point``."""
    from legseg_core import atomic

    renames = []
    replace = atomic.os.replace

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def die_at_the_labels(*args, **kwargs):
        renames.append(args)
        if len(renames) == 2:  # the image is in place, the labels are not
            die()
        return replace(*args, **kwargs)

    target = {"renaming the image": (atomic.os, "replace", die),
              "renaming the labels": (atomic.os, "replace", die_at_the_labels),
              "before the transaction": (writes, "insert_case", die),
              "inside the transaction": (writes, "set_accepted", die)}[kill_point]
    setattr(*target)
    Store.open(root).add_case(_volume(7), labels=_labels(3), accept=True, contrast="t1w")


@pytest.mark.parametrize("kill_point", ["renaming the image", "renaming the labels", "before the transaction",
                                        "inside the transaction"])
def test_a_kill_while_adding_a_case_adds_nothing_and_the_retry_is_no_duplicate(tmp_path: Path,
                                                                                kill_point: str) -> None:
    with Store.init(tmp_path / "store") as store:
        kept = store.add_case(_volume(1))
    process = CONTEXT.Process(target=_killed_while_adding, args=(str(tmp_path / "store"), kill_point))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    with Store.open(tmp_path / "store") as store:
        report = store.verify()
        assert report.ok and [c.id for c in store.cases()] == [kept.id]
        assert store.verify(repair=True, grace_seconds=0).leftovers == []
        case = store.add_case(_volume(7), labels=_labels(3), accept=True, contrast="t1w")
        assert case.status == "accepted" and case.version_count == 1
        np.testing.assert_array_equal(store.load_labels(case.accepted_version), _labels(3))
        assert store.verify().ok


def test_a_refused_add_adds_nothing_and_the_corrected_retry_succeeds(tmp_path: Path) -> None:
    with Store.init(tmp_path / "store") as store:
        with pytest.raises(StoreError, match="provenance 'guessed'"):
            store.add_case(_volume(3), labels=_labels(2), provenance="guessed")
        with pytest.raises(GridMismatchError, match=r"labels of shape \(2, 2, 2\) do not fit"):
            store.add_case(_volume(3), labels=np.full((2, 2, 2), 1, np.uint8))
        assert store.cases() == [] and not any((tmp_path / "store" / "cases").iterdir())
        case = store.add_case(_volume(3), labels=_labels(2), provenance="synthetic")
        assert store.history(case.id)[0].provenance == "synthetic"
