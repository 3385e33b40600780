"""nibabel imported without pydicom, which it would otherwise import at once (a fifth of a second of every
cold ``legseg segment``, with ``requests`` and ``urllib3`` behind it) for one thing LegSeg never reads: the
DICOM header a NIfTI file may carry as an extension (code 2).

Importing this module imports nibabel with ``pydicom`` hidden for that moment, so nibabel keeps such an
extension as plain bytes; pydicom itself imports as usual afterwards (LegSeg's DICOM reader imports it when
it reads a DICOM series). When nibabel or pydicom is already imported, nothing changes.
:mod:`legseg_core.io` imports this module first, so every LegSeg module that reads through it gets the lean
nibabel.
"""

from __future__ import annotations

import sys


def _import_nibabel_without_pydicom() -> None:
    if "nibabel" in sys.modules or "pydicom" in sys.modules:
        return
    sys.modules["pydicom"] = None  # type: ignore[assignment]  # `import pydicom` raises ImportError meanwhile
    try:
        import nibabel.nifti1  # noqa: F401
    finally:
        del sys.modules["pydicom"]


_import_nibabel_without_pydicom()
