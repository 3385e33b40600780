"""The error a label edit that cannot be done raises."""

from __future__ import annotations

from legseg_core.errors import LegsegError


class EditingError(LegsegError):
    """An edit cannot be done: a label, slice or seed outside the volume, or nothing to interpolate from."""
