"""Building blocks shared by the networks: argument checks, layer factories, the padded base class.

Every network takes a ``[batch, in_channels, z, y, x]`` float tensor and returns
``[batch, out_channels, z, y, x]`` class probabilities (softmax over the channel axis);
``logits(x)`` returns the pre-softmax scores for numerically stable training losses. Inputs of
any size are accepted: they are zero-padded at the far end of each axis to a multiple of the
network's total downsampling factor and the output is cropped back, so a 20-slice patch works
with pooling that halves z only twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from legseg_core.errors import ModelError

Triple = tuple[int, int, int]

#: Normalisation layers by name, as MONAI's factories look them up.
NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": lambda channels: nn.BatchNorm3d(channels),
    "instance": lambda channels: nn.InstanceNorm3d(channels, affine=True),
    "group": lambda channels: nn.GroupNorm(math.gcd(8, channels), channels),
    "none": lambda channels: nn.Identity(),
}

#: Activations by name.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
}


# ---- argument checks -----------------------------------------------------------------------

def check_common(network: str, spatial_dims: Any, in_channels: Any, out_channels: Any) -> None:
    """Validate the leading MONAI-style arguments every network shares."""
    if spatial_dims != 3:
        raise ModelError(f"{network}: spatial_dims={spatial_dims!r} is not supported; the networks are 3D, "
                         "use spatial_dims=3")
    check_positive_int(network, "in_channels", in_channels)
    check_positive_int(network, "out_channels", out_channels)
    if out_channels < 2:
        raise ModelError(f"{network}: out_channels={out_channels} leaves nothing to tell apart; "
                         "use 8 (background plus seven muscles)")


def check_positive_int(network: str, name: str, value: Any) -> int:
    """``value`` as an int if it is a whole number >= 1, else a ModelError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"{network}: {name}={value!r} must be a whole number >= 1")
    return value


def check_choice(network: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a ModelError listing them."""
    if value not in choices:
        raise ModelError(f"{network}: {name}={value!r} is unknown; choose one of {', '.join(choices)}")
    return value


def check_fraction(network: str, name: str, value: Any) -> float:
    """``value`` as a float in [0, 1), else a ModelError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ModelError(f"{network}: {name}={value!r} must be a number in [0, 1)")
    return float(value)


def check_channels(network: str, name: str, channels: Any, *, min_levels: int = 2) -> tuple[int, ...]:
    """A sequence of at least ``min_levels`` positive ints, as a tuple."""
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or len(channels) < min_levels:
        raise ModelError(f"{network}: {name}={channels!r} must list at least {min_levels} channel counts, "
                         f"one per resolution level, e.g. (16, 32, 64, 128)")
    return tuple(check_positive_int(network, f"{name}[{i}]", c) for i, c in enumerate(channels))


def check_strides(network: str, strides: Any, levels: int) -> tuple[Triple, ...]:
    """One downsampling factor per level transition: each an int or a (z, y, x) triple of 1s and 2s."""
    if isinstance(strides, (str, bytes)) or not isinstance(strides, Sequence) or len(strides) != levels:
        raise ModelError(f"{network}: strides={strides!r} must give {levels} downsampling factors (one per "
                         f"level below the first), each 2 or a (z, y, x) triple such as (1, 2, 2)")
    triples = []
    for i, stride in enumerate(strides):
        triple = (stride,) * 3 if isinstance(stride, int) and not isinstance(stride, bool) else stride
        if (isinstance(triple, (str, bytes)) or not isinstance(triple, Sequence) or len(triple) != 3
                or any(isinstance(s, bool) or s not in (1, 2) for s in triple)):
            raise ModelError(f"{network}: strides[{i}]={stride!r} must be 1, 2 or a (z, y, x) triple of 1s "
                             "and 2s")
        triples.append(tuple(int(s) for s in triple))
    return tuple(triples)


def per_level(network: str, name: str, value: Any, levels: int) -> tuple[int, ...]:
    """An int applied to every level, or a sequence with one positive int per level."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (check_positive_int(network, name, value),) * levels
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != levels:
        raise ModelError(f"{network}: {name}={value!r} must be one whole number or {levels} of them "
                         "(one per level)")
    return tuple(check_positive_int(network, f"{name}[{i}]", v) for i, v in enumerate(value))


# ---- layers --------------------------------------------------------------------------------

def norm_act(norm: str, act: str, channels: int) -> list[nn.Module]:
    """Normalisation then activation, as a list to splice into nn.Sequential."""
    return [NORMS[norm](channels), ACTIVATIONS[act]()]


def conv3(in_channels: int, out_channels: int, *, bias: bool) -> nn.Conv3d:
    """A 3x3x3 convolution that keeps the size."""
    return nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias)


def conv_norm_act(in_channels: int, out_channels: int, norm: str, act: str) -> nn.Sequential:
    """3x3x3 convolution, normalisation, activation (bias only when there is no normalisation)."""
    return nn.Sequential(conv3(in_channels, out_channels, bias=norm == "none"), *norm_act(norm, act, out_channels))


def total_factor(strides: Sequence[Triple]) -> Triple:
    """The product of the strides per axis: input sizes must be multiples of it (padded if not)."""
    return tuple(math.prod(s[axis] for s in strides) for axis in range(3))  # type: ignore[return-value]


# ---- base class ----------------------------------------------------------------------------

class SegmentationNet(nn.Module):
    """Base of the three networks: input checks, padding to the pooling grid, softmax output.

    Subclasses set ``self.arguments`` (the JSON-ready constructor arguments, from which the
    network can be rebuilt), ``self.factor`` (the downsampling factor per axis) and implement
    ``_forward_padded(x)`` returning logits for an input whose sizes are multiples of ``factor``.
    """

    architecture = ""

    def __init__(self, network: str, spatial_dims: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        check_common(network, spatial_dims, in_channels, out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.arguments: dict[str, Any] = {}
        self.factor: Triple = (1, 1, 1)
        self.preset: str | None = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scores ``[batch, out_channels, z, y, x]`` for ``x`` ``[batch, in_channels, z, y, x]``."""
        self._check_input(x)
        size = x.shape[2:]
        padding: list[int] = []
        for length, factor in zip(reversed(size), reversed(self.factor)):
            padding += [0, (-length) % factor]
        if any(padding):
            x = functional.pad(x, padding)
        out = self._forward_padded(x)
        return out[:, :, : size[0], : size[1], : size[2]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[batch, out_channels, z, y, x]`` (softmax over channels)."""
        return torch.softmax(self.logits(x), dim=1)

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ModelError(f"{self.architecture}: input of shape {tuple(x.shape)} must be [batch, "
                             f"{self.in_channels}, z, y, x]")
        if min(x.shape[2:]) < 1:
            raise ModelError(f"{self.architecture}: input of shape {tuple(x.shape)} has an empty axis")


def jsonable(value: Any) -> Any:
    """Tuples to lists, recursively (also inside dicts), so constructor arguments survive a JSON round trip."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    return value
