"""Errors of the case store, all :class:`~legseg_core.errors.StoreError` subclasses."""

from __future__ import annotations

from legseg_core.errors import StoreError


class StoreMissingError(StoreError):
    """No store exists at the given location (create one with ``legseg store init``)."""


class UnknownRecordError(StoreError):
    """A case id, label-version id or image name is not in the catalog."""


class StoreIntegrityError(StoreError):
    """A stored file is missing or its checksum does not match the catalog."""


class StoreVersionError(StoreError):
    """The catalog was written by a newer LegSeg whose schema this version does not know."""


class DuplicateCaseError(StoreError):
    """The image is in the store already; ``case_id`` names the case that holds it."""

    def __init__(self, message: str, case_id: str) -> None:
        super().__init__(message)
        self.case_id = case_id
