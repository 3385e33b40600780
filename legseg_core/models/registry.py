"""The one registry of network architectures and their named presets.

``build_model("unet", preset="lite", channels=(8, 16, 32, 64))`` builds a network from a preset
with keyword overrides; every network takes the MONAI-style leading keywords
``spatial_dims=3, in_channels=1, out_channels=8``. Presets:

- ``paper``: sized to the free-parameter counts the paper reports (section 2.6), within a few
  percent: U-Net 16,259,464; ResNet 32,924,968; DenseNet 1,727,256. Four poolings; z is pooled
  twice only (patches are 20 slices of 3 to 10 mm), so inputs are padded to 20 x 112 x 112.
- ``lite``: sized for CPU inference and fine-tuning on a laptop. The three lite nets pool z
  twice and y, x three times (factors 4, 8, 8), which divides the 20 x 104 x 104 patch exactly:
  no padding, no wasted work. Widths were chosen by timing a forward pass of ten patches (one
  bilateral 90-slice scan) on the idle 2-core CPU: 1.0 s for a U-Net of 8 to 64 channels (0.35 M
  parameters), 2.0 s for 12 to 96 (0.79 M) and 3.0 s for 16 to 128 (1.4 M). The lite U-Net takes
  16 to 128 channels: it keeps the whole scan under the 5 s end-to-end target with room to
  spare, while loading, patching, resampling back and writing (about 0.4 s whatever the
  network) stay a small share of the time; the starter U-Net has this width. The lite ResNet (12 to 96 channels, one residual block per level on each path, 0.84 M) costs
  about the same as a 12-to-96-channel U-Net. Dense blocks at full resolution are memory-bound on a CPU (each layer
  normalises all earlier features again), so the lite DenseNet keeps one dense layer at full
  resolution and grows deeper below (1, 2, 4, 6 layers, growth 6, 0.24 M parameters); with few
  parameters it still costs about as much time as the lite U-Net (``legseg bench inference``
  measures all three).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from legseg_core.errors import ModelError
from legseg_core.models.blocks import SegmentationNet
from legseg_core.models.densenet import DenseNet
from legseg_core.models.resnet import ResNet
from legseg_core.models.unet import UNet

#: Anisotropic pooling of the lite presets: z halved twice, y and x three times (20 x 104 x 104 divides).
LITE_STRIDES = ((1, 2, 2), (2, 2, 2), (2, 2, 2))
#: Pooling of the paper presets: four levels, z halved twice.
PAPER_STRIDES = ((1, 2, 2), (2, 2, 2), (2, 2, 2), (1, 2, 2))

#: Parameter counts the paper reports for its three networks (section 2.6).
PAPER_PARAMETERS: dict[str, int] = {"unet": 16_259_464, "resnet": 32_924_968, "densenet": 1_727_256}


@dataclass(frozen=True)
class Architecture:
    """A registered network: its class, a one-line description and its named presets."""

    name: str
    network: type[SegmentationNet]
    description: str
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


ARCHITECTURES: dict[str, Architecture] = {
    "unet": Architecture("unet", UNet, "3D U-Net (Cicek 2016): max pooling, transposed convolutions, identity skips", {
        "lite": dict(channels=(16, 32, 64, 128), strides=LITE_STRIDES),
        "paper": dict(channels=(27, 54, 108, 216, 432), strides=PAPER_STRIDES),
    }),
    "resnet": Architecture("resnet", ResNet, "residual encoder-decoder (Drozdal 2016): 1x1 stride-2 down, "
                                             "voxel-repeat up, summed long skips", {
        "lite": dict(channels=(12, 24, 48, 96), strides=LITE_STRIDES, blocks=1),
        "paper": dict(channels=(32, 64, 128, 256, 512), strides=PAPER_STRIDES, blocks=(2, 2, 2, 2, 1),
                      checkpointing=True),
    }),
    "densenet": Architecture("densenet", DenseNet, "FC-DenseNet Tiramisu (Jegou 2017): dense blocks, "
                                                   "transitions down and up", {
        "lite": dict(first_channels=8, growth_rate=6, layers=(1, 2, 4, 6), strides=LITE_STRIDES),
        "paper": dict(first_channels=48, growth_rate=12, layers=(3, 3, 3, 3, 4), strides=PAPER_STRIDES),
    }),
}

#: Preset names per architecture.
PRESETS: dict[str, tuple[str, ...]] = {name: tuple(arch.presets) for name, arch in ARCHITECTURES.items()}


def architecture(name: str) -> Architecture:
    """The registered architecture called ``name``; a ModelError lists the known ones."""
    if name not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {name!r}; known architectures: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def preset_arguments(arch: str, preset: str) -> dict[str, Any]:
    """The constructor keywords of a named preset (without the leading MONAI-style keywords)."""
    known = architecture(arch).presets
    if preset not in known:
        raise ModelError(f"{arch}: unknown preset {preset!r}; presets: {', '.join(known)}")
    return dict(known[preset])


def build_model(arch: str, preset: str | None = "lite", **overrides: Any) -> SegmentationNet:
    """Build a network from a preset (or from defaults when ``preset`` is None) plus keyword overrides.

    The network returns ``[batch, out_channels, z, y, x]`` probabilities for
    ``[batch, in_channels, z, y, x]`` input. Unknown keywords give a ModelError listing the
    accepted ones.
    """
    spec = architecture(arch)
    arguments = preset_arguments(arch, preset) if preset is not None else {}
    arguments.update(overrides)
    accepted = _accepted_keywords(spec.network)
    unknown = sorted(set(arguments) - set(accepted))
    if unknown:
        raise ModelError(f"{arch}: unknown argument(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")
    model = spec.network(**arguments)
    model.preset = preset
    return model


def rebuild_model(arch: str, arguments: Mapping[str, Any], preset: str | None = None) -> SegmentationNet:
    """Rebuild a network from the full constructor arguments a checkpoint recorded."""
    model = build_model(arch, None, **dict(arguments))
    model.preset = preset
    return model


def count_parameters(model: nn.Module) -> int:
    """The number of free (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _accepted_keywords(network: type[SegmentationNet]) -> tuple[str, ...]:
    import inspect

    parameters = inspect.signature(network.__init__).parameters
    return tuple(name for name in parameters if name != "self")
