"""Errors of evaluation that no other :class:`LegsegError` subclass describes."""

from __future__ import annotations

from legseg_core.errors import LegsegError


class EvaluationError(LegsegError):
    """Evaluation cannot be done as asked: no matching cases, too few pairs for a test, bad options."""
