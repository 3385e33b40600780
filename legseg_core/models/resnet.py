"""3D residual encoder-decoder (Drozdal et al. 2016): residual blocks in both paths, long skips.

Input ``[batch, in_channels, z, y, x]``, output ``[batch, out_channels, z, y, x]`` probabilities.
Both paths are made of pre-activation residual blocks (norm, activation, 3x3x3 convolution,
twice, plus the identity). The contracting path downsamples with a 1x1x1 convolution of stride
2 (which also widens the features); the expanding path narrows with a 1x1x1 convolution and
upsamples by repeating voxels (nearest neighbour; a 1x1x1 convolution commutes with the repeat,
so it runs at the coarse size), then adds the contracting path's features at that level: the
long skip connections are summations, as in Drozdal et al. With ``checkpointing=True`` each
residual block's body runs under ``torch.utils.checkpoint`` while gradients are needed: only the
block inputs are kept for the backward pass and the body is recomputed, which trades about a
third more compute for several times less activation memory (the paper preset uses it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from legseg_core.errors import ModelError
from legseg_core.models.blocks import (
    ACTIVATIONS, NORMS, SegmentationNet, Triple, check_channels, check_choice, check_fraction,
    check_strides, conv3, jsonable, norm_act, per_level, total_factor,
)


class ResidualBlock(nn.Module):
    """Pre-activation residual block: x + conv(act(norm(conv(act(norm(x)))))), 3x3x3 kernels."""

    def __init__(self, channels: int, norm: str, act: str, dropout: float, checkpointing: bool = False) -> None:
        super().__init__()
        self.checkpointing = checkpointing
        bias = norm == "none"
        self.body = nn.Sequential(*norm_act(norm, act, channels), conv3(channels, channels, bias=bias),
                                  *norm_act(norm, act, channels), nn.Dropout3d(dropout) if dropout else nn.Identity(),
                                  conv3(channels, channels, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.checkpointing and torch.is_grad_enabled() and x.requires_grad:
            return x + checkpoint(self.body, x, use_reentrant=False)
        return x + self.body(x)


class ResNet(SegmentationNet):
    """Residual U-shaped network with 1x1x1 stride-2 downsampling and voxel-repeat upsampling.

    ``channels`` lists the features per level, ``strides`` the factor between levels ((z, y, x)
    triples or 2), ``blocks`` the residual blocks per level (one int or one per level, used on
    both paths), ``dropout`` the rate inside each residual block.
    """

    architecture = "resnet"

    def __init__(self, spatial_dims: int = 3, in_channels: int = 1, out_channels: int = 8, *,
                 channels: Sequence[int] = (16, 32, 64, 128), strides: Sequence[int | Triple] | None = None,
                 blocks: int | Sequence[int] = 1, norm: str = "batch", act: str = "relu",
                 dropout: float = 0.0, checkpointing: bool = False) -> None:
        super().__init__("resnet", spatial_dims, in_channels, out_channels)
        channels = check_channels("resnet", "channels", channels)
        strides = check_strides("resnet", strides if strides is not None else (2,) * (len(channels) - 1),
                                len(channels) - 1)
        blocks = per_level("resnet", "blocks", blocks, len(channels))
        check_choice("resnet", "norm", norm, tuple(NORMS))
        check_choice("resnet", "act", act, tuple(ACTIVATIONS))
        dropout = check_fraction("resnet", "dropout", dropout)
        if not isinstance(checkpointing, bool):
            raise ModelError(f"resnet: checkpointing={checkpointing!r} must be True or False")
        self.arguments = jsonable(dict(spatial_dims=spatial_dims, in_channels=in_channels,
                                       out_channels=out_channels, channels=channels, strides=strides,
                                       blocks=blocks, norm=norm, act=act, dropout=dropout,
                                       checkpointing=checkpointing))
        self.factor = total_factor(strides)

        def stage(level: int) -> nn.Sequential:
            return nn.Sequential(*(ResidualBlock(channels[level], norm, act, dropout, checkpointing) for _ in range(blocks[level])))

        self.stem = conv3(in_channels, channels[0], bias=True)
        self.down = nn.ModuleList(stage(level) for level in range(len(channels)))
        self.downsample = nn.ModuleList(
            nn.Sequential(*norm_act(norm, act, channels[i]),
                          nn.Conv3d(channels[i], channels[i + 1], kernel_size=1, stride=strides[i]))
            for i in range(len(strides)))
        self.narrow = nn.ModuleList(
            nn.Sequential(*norm_act(norm, act, channels[i + 1]), nn.Conv3d(channels[i + 1], channels[i], kernel_size=1))
            for i in range(len(strides)))
        self.repeat = nn.ModuleList(nn.Upsample(scale_factor=s, mode="nearest") for s in strides)
        self.up = nn.ModuleList(stage(level) for level in range(len(strides)))
        self.head = nn.Sequential(*norm_act(norm, act, channels[0]), nn.Conv3d(channels[0], out_channels, 1))

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for level, stage in enumerate(self.down):
            if level:
                x = self.downsample[level - 1](x)
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for level in reversed(range(len(self.up))):
            x = self.up[level](skips[level] + self.repeat[level](self.narrow[level](x)))
        return self.head(x)
