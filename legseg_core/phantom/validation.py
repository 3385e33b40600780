"""Checks of the phantom options, with messages that name the value and what would be right."""

from __future__ import annotations

import numpy as np

from legseg_core.errors import LegsegError
from legseg_core.phantom.contrast import CONTRASTS
from legseg_core.phantom.disease import DIAGNOSES, HEALTH_STATES
from legseg_core.phantom.grid import PROTOCOLS, SIZES

LEG_CHOICES: tuple[str, ...] = ("both", "right", "left")
MAX_SLICES = 400
#: The furthest (mm) a whole-leg phantom's field of view may reach above the tibial plateau.
MAX_KNEE_MM = 150.0
#: The furthest (mm) it may reach below the ankle joint (the sole lies about 70 mm below it).
MAX_FOOT_MM = 80.0


class PhantomParameterError(LegsegError):
    """A phantom option (protocol, size, contrast, health, diagnosis, legs, slices, mix) is invalid."""


def _choose(what: str, value: object, choices) -> None:
    if value not in choices:
        raise PhantomParameterError(f"unknown {what} {value!r}; choose one of {', '.join(map(str, choices))}")


def check_seed(seed: object) -> int:
    """The seed as an int, or :class:`PhantomParameterError` if it is not a whole number >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PhantomParameterError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def check_options(*, protocol: str, slices: int | None, contrasts: tuple[str, ...], health: str,
                  diagnosis: str | None, legs: str, size: str, knee_mm: float = 0.0, foot_mm: float = 0.0) -> None:
    """Raise :class:`PhantomParameterError` for the first invalid option of :func:`make_case`."""
    _choose("protocol", protocol, tuple(PROTOCOLS))
    _choose("size", size, tuple(SIZES))
    _choose("legs", legs, LEG_CHOICES)
    _choose("health status", health, HEALTH_STATES)
    if diagnosis is not None:
        _choose("diagnosis", diagnosis, DIAGNOSES)
        if health != "patient":
            raise PhantomParameterError(f"diagnosis {diagnosis!r} needs health='patient', got health={health!r}")
    if not contrasts:
        raise PhantomParameterError("no contrast requested; choose from " + ", ".join(CONTRASTS))
    for contrast in contrasts:
        _choose("contrast", contrast, CONTRASTS)
    if len(set(contrasts)) != len(contrasts):
        raise PhantomParameterError(f"contrast listed twice in {list(contrasts)}")
    if slices is not None and (isinstance(slices, bool) or not isinstance(slices, int) or
                               not 1 <= slices <= MAX_SLICES):
        raise PhantomParameterError(f"slices must be a whole number from 1 to {MAX_SLICES}, got {slices!r}")
    check_knee_mm(knee_mm)
    check_foot_mm(foot_mm)
    for name, value in (("knee_mm", knee_mm), ("foot_mm", foot_mm)):
        if value and protocol != "A":
            raise PhantomParameterError(f"{name}={value!r} needs the whole-leg protocol A; protocol {protocol!r} "
                                        "is a slab below the knee")


def check_knee_mm(knee_mm: object) -> float:
    """``knee_mm`` as a float, or :class:`PhantomParameterError` unless it is from 0 to :data:`MAX_KNEE_MM`."""
    return _check_reach("knee_mm", knee_mm, MAX_KNEE_MM, "above the tibial plateau")


def check_foot_mm(foot_mm: object) -> float:
    """``foot_mm`` as a float, or :class:`PhantomParameterError` unless it is from 0 to :data:`MAX_FOOT_MM`."""
    return _check_reach("foot_mm", foot_mm, MAX_FOOT_MM, "below the ankle joint")


def _check_reach(name: str, value: object, most: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= float(value) <= most:
        raise PhantomParameterError(f"{name} must be a number of mm from 0 to {most:g} {where}, got {value!r}")
    return float(value)
