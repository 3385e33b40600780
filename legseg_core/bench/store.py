"""``legseg bench store``: add a 320 x 320 x 90 case, commit a label version, list 1,000 cases.

The case is a synthetic int16 scan of two lower legs with noise (a realistic compression
ratio, unlike pure noise); each commit is a correction of the previous version (a few slices
edited), so edit statistics against a parent are part of the timing. The listing store holds
``--cases`` tiny cases added through the same public API.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "store: add a 320x320x90 case, commit a label version (< 0.5 s), list 1,000 cases (< 50 ms)"
COMMIT_TARGET_SECONDS = 0.5
LIST_TARGET_SECONDS = 0.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=int, nargs=3, default=(90, 320, 320), metavar=("Z", "Y", "X"),
                        help="the benchmark case's grid [z, y, x] (default 90 320 320)")
    parser.add_argument("--cases", type=int, default=1000, help="cases in the listing store (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (default 5)")


def quick_arguments() -> argparse.Namespace:
    """Settings for `legseg bench all`: the full-size case and listing, fewer repeats."""
    return argparse.Namespace(shape=(90, 320, 320), cases=1000, repeats=3)


def synthetic_case(shape: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A ``[z, y, x]`` int16 scan of two elliptical legs with noise, and uint8 labels of seven muscles."""
    rng = np.random.default_rng(seed)
    z, y, x = shape
    yy, xx = np.mgrid[0:y, 0:x]
    image = np.zeros((y, x), dtype=np.float32)
    labels = np.zeros((y, x), dtype=np.uint8)
    for centre in (x * 0.3, x * 0.7):
        leg = ((xx - centre) / (x * 0.17)) ** 2 + ((yy - y / 2) / (y * 0.22)) ** 2 < 1
        image[leg] = 600.0
        for muscle in range(1, 8):
            angle = 2 * np.pi * muscle / 7
            cy, cx = y / 2 + np.sin(angle) * y * 0.11, centre + np.cos(angle) * x * 0.08
            labels[((xx - cx) ** 2 + (yy - cy) ** 2 < (x * 0.035) ** 2) & leg] = muscle
    volume = np.repeat(image[None], z, axis=0) + rng.normal(0, 20, (z, y, x)).astype(np.float32)
    volume[:, image == 0] = 0
    return np.clip(volume, 0, None).astype(np.int16), np.repeat(labels[None], z, axis=0)


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.io import Volume
    from legseg_core.store import Store

    shape = tuple(int(s) for s in args.shape)
    scan, labels = synthetic_case(shape)  # type: ignore[arg-type]
    volume = Volume.from_array(scan, (6.0, 1.0, 1.0))
    result = BenchResult("store")
    with tempfile.TemporaryDirectory(prefix="legseg-bench-store-") as folder:
        store = Store.init(Path(folder) / "store")
        add = median_seconds(lambda: store.add_case(volume, contrast="t1w", health="healthy", allow_duplicate=True),
                             repeats=args.repeats)
        case = store.add_case(volume, contrast="t1w", health="healthy", allow_duplicate=True)
        commit = median_seconds(_corrections(store, case.id, labels), repeats=args.repeats)
        listing, count = _listing(Path(folder) / "listing", args.cases, args.repeats)
        store.close()
    label_text = f"{shape[2]}x{shape[1]}x{shape[0]}"
    result.rows += [{"what": f"add a {label_text} case (int16)", "median_s": add},
                    {"what": f"commit a label version ({label_text}, a correction)", "median_s": commit},
                    {"what": f"list {count} cases", "median_s": listing}]
    result.target(f"label version commit ({label_text})", commit, COMMIT_TARGET_SECONDS)
    result.target(f"list {count} cases", listing, LIST_TARGET_SECONDS)
    result.notes.append("files are flushed to disk (fsync) and the catalog commits with synchronous=FULL")
    return result


def _corrections(store, case_id: str, labels: np.ndarray):
    state = {"labels": labels.copy(), "parent": store.add_label_version(case_id, labels, provenance="manual").id,
             "step": 0}

    def commit() -> None:
        state["step"] += 1
        edited = state["labels"].copy()
        k = state["step"] % edited.shape[0]
        edited[k, : edited.shape[1] // 2] = np.roll(edited[k, : edited.shape[1] // 2], 1, axis=1)
        version = store.add_label_version(case_id, edited, provenance=f"corrected:{state['parent']}")
        state["labels"], state["parent"] = edited, version.id

    return commit


def _listing(folder: Path, cases: int, repeats: int) -> tuple[float, int]:
    from legseg_core.io import Volume
    from legseg_core.store import Store

    store = Store.init(folder)
    contrasts, health = ("t1w", "dixon_water", "dixon_fat", "t2"), ("healthy", "patient")
    for number in range(cases):
        tiny = Volume.from_array(np.full((2, 4, 4), number, dtype=np.int32))
        store.add_case(tiny, contrast=contrasts[number % 4], health=health[number % 3 == 0], diagnosis="")
    seconds = median_seconds(lambda: store.cases(), repeats=repeats)
    count = len(store.cases())
    store.close()
    return seconds, count
