"""3D U-Net (Cicek et al. 2016): max pooling down, transposed convolution up, identity skips.

Input ``[batch, in_channels, z, y, x]``, output ``[batch, out_channels, z, y, x]`` probabilities.
Each level holds ``convolutions`` 3x3x3 convolutions with normalisation and activation; the
contracting path halves the size with max pooling, the expanding path doubles it with a
transposed convolution and concatenates the contracting path's features at the same level
(the identity skip). Pooling may be anisotropic: our patches are 20 x 104 x 104 voxels
(z, y, x) with thick slices, so z is pooled fewer times than y and x.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from legseg_core.models.blocks import (
    ACTIVATIONS, NORMS, SegmentationNet, Triple, check_channels, check_choice, check_fraction,
    check_positive_int, check_strides, conv_norm_act, jsonable, total_factor,
)


class UNet(SegmentationNet):
    """3D U-Net with anisotropic max pooling, transposed-convolution upsampling and concatenated skips.

    ``channels`` lists the feature channels per level (first = full resolution), ``strides`` the
    pooling factor between consecutive levels ((z, y, x) triples or 2), ``convolutions`` the
    number of 3x3x3 convolutions per level, ``dropout`` a 3D dropout rate in the deepest level.
    """

    architecture = "unet"

    def __init__(self, spatial_dims: int = 3, in_channels: int = 1, out_channels: int = 8, *,
                 channels: Sequence[int] = (16, 32, 64, 128), strides: Sequence[int | Triple] | None = None,
                 convolutions: int = 2, norm: str = "batch", act: str = "relu", dropout: float = 0.0) -> None:
        super().__init__("unet", spatial_dims, in_channels, out_channels)
        channels = check_channels("unet", "channels", channels)
        strides = check_strides("unet", strides if strides is not None else (2,) * (len(channels) - 1),
                                len(channels) - 1)
        check_positive_int("unet", "convolutions", convolutions)
        check_choice("unet", "norm", norm, tuple(NORMS))
        check_choice("unet", "act", act, tuple(ACTIVATIONS))
        dropout = check_fraction("unet", "dropout", dropout)
        self.arguments = jsonable(dict(spatial_dims=spatial_dims, in_channels=in_channels,
                                       out_channels=out_channels, channels=channels, strides=strides,
                                       convolutions=convolutions, norm=norm, act=act, dropout=dropout))
        self.factor = total_factor(strides)

        def block(cin: int, cout: int) -> nn.Sequential:
            layers = [conv_norm_act(cin, cout, norm, act)]
            layers += [conv_norm_act(cout, cout, norm, act) for _ in range(convolutions - 1)]
            return nn.Sequential(*layers)

        self.down = nn.ModuleList(block(cin, cout) for cin, cout in zip((in_channels, *channels[:-1]), channels))
        self.pools = nn.ModuleList(nn.MaxPool3d(kernel_size=s, stride=s) for s in strides)
        self.dropout = nn.Dropout3d(dropout) if dropout else nn.Identity()
        self.ups = nn.ModuleList(nn.ConvTranspose3d(channels[i + 1], channels[i], kernel_size=strides[i],
                                                    stride=strides[i]) for i in range(len(strides)))
        self.up = nn.ModuleList(block(2 * channels[i], channels[i]) for i in range(len(strides)))
        self.head = nn.Conv3d(channels[0], out_channels, kernel_size=1)

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, block in enumerate(self.down):
            if level:
                x = self.pools[level - 1](x)
            x = block(x)
            skips.append(x)
        x = self.dropout(skips.pop())
        for level in reversed(range(len(self.ups))):
            x = self.up[level](torch.cat([skips[level], self.ups[level](x)], dim=1))
        return self.head(x)
