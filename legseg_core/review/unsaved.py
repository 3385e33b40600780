"""Which label maps have edits that are not autosaved yet: the dirty state that autosave follows.

A host reports each edit of a label map (:meth:`UnsavedEdits.edited`, keyed by anything hashable:
a store case id, a napari layer), asks which maps to autosave (:meth:`UnsavedEdits.pending`),
marks them autosaved, and forgets a map once its labels are saved in the store or thrown away.
The same edit count tells whether a map changed again while it was being autosaved.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class UnsavedEdits(Generic[Key]):
    """Edit counts per label map, and the count each was last autosaved at."""

    def __init__(self) -> None:
        self._edits: dict[Key, int] = {}
        self._autosaved: dict[Key, int] = {}

    def edited(self, key: Key) -> int:
        """Count one more edit of ``key``'s labels; returns its edit count."""
        self._edits[key] = self._edits.get(key, 0) + 1
        return self._edits[key]

    def edit_count(self, key: Key) -> int:
        """How many edits ``key`` had so far (0 for a map never edited or forgotten)."""
        return self._edits.get(key, 0)

    def pending(self) -> list[Key]:
        """The maps edited since their last autosave, in the order they were first edited."""
        return [key for key, count in self._edits.items() if self._autosaved.get(key) != count]

    def autosaved(self, key: Key, count: int | None = None) -> None:
        """``key``'s labels as of edit ``count`` (default: now) are autosaved."""
        self._autosaved[key] = self._edits.get(key, 0) if count is None else count

    def forget(self, key: Key) -> None:
        """``key``'s labels are saved in the store, discarded, or closed: nothing is pending for it."""
        self._edits.pop(key, None)
        self._autosaved.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self.pending()

    def __len__(self) -> int:
        return len(self.pending())
