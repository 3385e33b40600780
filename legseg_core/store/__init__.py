"""The store: the growing, heterogeneous training set of cases with immutable label versions.

A store is one folder with an SQLite catalog and NIfTI files (see :mod:`legseg_core.store.store`
for the layout and the crash-safety rules). Typical use::

    from legseg_core.store import Store

    store = Store.open()                       # --store PATH > $LEGSEG_STORE > user data folder
    case = store.add_case("scan.nii.gz", contrast="t1w", health="patient", diagnosis="Pompe")
    version = store.add_label_version(case.id, labels, provenance="manual")   # labels: [z, y, x] uint8
    store.accept(case.id, version.id)
    for case in store.accepted_cases(split="train"):
        image, labels = store.load_image(case.id), store.load_labels(case.accepted_version)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.store.catalog import SCHEMA_VERSION
    from legseg_core.store.errors import (DuplicateCaseError, StoreIntegrityError, StoreMissingError, StoreVersionError,
                                         UnknownRecordError)
    from legseg_core.store.location import STORE_ENVIRONMENT_VARIABLE, default_store_path, resolve_store_path
    from legseg_core.store.naming import SEGMENTATION_IMAGE
    from legseg_core.store.records import (HEALTH_STATUSES, REVIEW_STATUSES, CaseMetadata, CaseRecord, EditStatistics,
                                           LabelVersion, Provenance)
    from legseg_core.store.splits import SPLITS, SplitConfig
    from legseg_core.store.store import Store, default_author
    from legseg_core.store.summary import StoreSummary
    from legseg_core.store.verify import VerifyReport

__all__ = ["HEALTH_STATUSES", "REVIEW_STATUSES", "SCHEMA_VERSION", "SEGMENTATION_IMAGE", "SPLITS",
           "STORE_ENVIRONMENT_VARIABLE", "CaseMetadata", "CaseRecord", "DuplicateCaseError", "EditStatistics",
           "LabelVersion", "Provenance", "SplitConfig", "Store", "StoreIntegrityError", "StoreMissingError",
           "StoreSummary", "StoreVersionError", "UnknownRecordError", "VerifyReport", "default_author",
           "default_store_path", "resolve_store_path"]

#: Where each name is defined: imported on first use (:mod:`legseg_core.lazy`).
_EXPORTS = {
    "SCHEMA_VERSION": "catalog", "DuplicateCaseError": "errors", "StoreIntegrityError": "errors",
    "StoreMissingError": "errors", "StoreVersionError": "errors", "UnknownRecordError": "errors",
    "STORE_ENVIRONMENT_VARIABLE": "location", "default_store_path": "location", "resolve_store_path": "location",
    "SEGMENTATION_IMAGE": "naming", "HEALTH_STATUSES": "records", "REVIEW_STATUSES": "records",
    "CaseMetadata": "records", "CaseRecord": "records", "EditStatistics": "records", "LabelVersion": "records",
    "Provenance": "records", "SPLITS": "splits", "SplitConfig": "splits", "Store": "store",
    "default_author": "store", "StoreSummary": "summary", "VerifyReport": "verify",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
