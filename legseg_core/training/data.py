"""Training data from the store: accepted cases -> labelled patches, through the patch cache.

A *data snapshot* is the list of (case id, label-version id) pairs a model was trained on; it
goes into the model's card and the registry, so fine-tuning knows which label versions a model
has seen. Patches of one (image, label version, preprocessing settings) triple are made once
and cached under ``<store>/cache/patches/``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.errors import PreprocessingError, TrainingError
from legseg_core.progress import Progress, ProgressWork
from legseg_core.training.patches import LabelledPatches, PatchCache, cache_key

log = logging.getLogger(__name__)

CACHE_FOLDER = Path("cache") / "patches"

if TYPE_CHECKING:
    from legseg_core.store import Store


@dataclass(frozen=True)
class CaseEntry:
    """One case of a data snapshot: the case and the label version trained on."""

    case_id: str
    version_id: str

    def to_list(self) -> list[str]:
        return [self.case_id, self.version_id]


def snapshot(cases: Sequence[Any]) -> list[CaseEntry]:
    """The (case, accepted version) pairs of accepted store cases (``CaseRecord`` objects)."""
    entries = []
    for case in cases:
        if not case.accepted_version:
            raise TrainingError(f"case {case.id} has no accepted label version; accept one with "
                                "`legseg store accept` before training on it")
        entries.append(CaseEntry(case.id, case.accepted_version))
    return entries


def store_cache(store: Store, memory_items: int = 256) -> PatchCache:
    """The patch cache of a store (``<store>/cache/patches``)."""
    return PatchCache(Path(store.root) / CACHE_FOLDER, memory_items=memory_items)


def image_checksum(store: Store, case_id: str) -> str:
    """The sha256 of a case's segmentation image, as the catalog records it."""
    from legseg_core.store import SEGMENTATION_IMAGE, queries

    row = store.catalog.read(lambda c: queries.image_row(c, case_id, SEGMENTATION_IMAGE))
    return str(row["sha256"])


def case_patches(store: Store, entry: CaseEntry, cache: PatchCache, config: Any) -> LabelledPatches:
    """The labelled patches of one case and label version under the preprocessing ``config``."""
    version = store.version(entry.version_id)
    if version.case_id != entry.case_id:
        raise TrainingError(f"label version {entry.version_id} belongs to case {version.case_id}, not {entry.case_id}")
    key = cache_key(image_checksum(store, entry.case_id), version.sha256, config.to_dict())

    def make() -> LabelledPatches:
        from legseg_core.preprocess import to_patches
        from legseg_core.synth.heldout import check_trainable

        image, labels = store.load_image(entry.case_id), store.load_labels(entry.version_id)
        check_trainable(image.data, what=f"the image of store case {entry.case_id}")
        check_trainable(labels, what=f"label version {entry.version_id} of store case {entry.case_id}")
        try:
            patches = to_patches(image, labels, config)
        except PreprocessingError as error:  # the scan's own name ("image") would not say which case it is
            raise TrainingError(f"store case {entry.case_id} cannot be cut into training patches: {error}; "
                                f"exclude it (`legseg store status {entry.case_id} excluded`; it is kept) "
                                f"or replace its image") from error
        return LabelledPatches(patches.images, patches.labels, (entry.case_id,) * len(patches.images))

    return cache.get_or_make(key, make)


def collect_patches(store: Store, entries: Sequence[CaseEntry], cache: PatchCache, config: Any,
                    what: str = "patches") -> ProgressWork[LabelledPatches | None]:
    """Patches of every entry, concatenated (None for no entries); yields one event per case."""
    sets = []
    for done, entry in enumerate(entries):
        yield Progress(done, len(entries), f"{what}: case {done + 1}/{len(entries)}",
                       {"event": "data", "what": what, "case": entry.case_id})
        sets.append(case_patches(store, entry, cache, config))
    return LabelledPatches.concatenate(sets) if sets else None
