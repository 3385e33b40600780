"""3D fully convolutional DenseNet, "Tiramisu" (Jegou et al. 2017).

Input ``[batch, in_channels, z, y, x]``, output ``[batch, out_channels, z, y, x]`` probabilities.
A first 3x3x3 convolution, then dense blocks (each layer: norm, activation, 3x3x3 convolution
to ``growth_rate`` new features, dropout; its input is the concatenation of everything before
it in the block). Down the contracting path a block's input and output are concatenated and
a transition down (norm, activation, 1x1x1 convolution, dropout, max pooling) follows; up the
expanding path a transition up (3x3x3 transposed convolution of stride 2) upsamples only the
features the previous block created, which are concatenated with the skip and fed to the next
block, as in the paper, so the number of feature maps stays bounded.

Dense layers are memory hungry in training (every layer re-concatenates and normalises all
earlier features). With ``checkpointing=True`` each dense layer runs under
``torch.utils.checkpoint`` while gradients are needed: its concatenation, normalisation and
activation are recomputed in the backward pass instead of stored (Pleiss et al. 2017), which
trades about 20% more training time for a fraction of the activation memory. Inference is
unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from legseg_core.errors import ModelError
from legseg_core.models.blocks import (
    ACTIVATIONS, NORMS, SegmentationNet, Triple, check_choice, check_fraction, check_positive_int,
    check_strides, conv3, jsonable, norm_act, per_level, total_factor,
)


class DenseLayer(nn.Module):
    """norm, activation, 3x3x3 convolution to ``growth_rate`` features, dropout, on concatenated inputs."""

    def __init__(self, in_channels: int, growth_rate: int, norm: str, act: str, dropout: float,
                 checkpointing: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(*norm_act(norm, act, in_channels), conv3(in_channels, growth_rate, bias=True),
                                  nn.Dropout3d(dropout) if dropout else nn.Identity())
        self.checkpointing = checkpointing

    def _run(self, *features: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat(features, dim=1))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        if self.checkpointing and torch.is_grad_enabled() and any(f.requires_grad for f in features):
            return checkpoint(self._run, *features, use_reentrant=False)
        return self._run(*features)


class DenseBlock(nn.Module):
    """``layers`` dense layers; returns the new features only, or the input and new features."""

    def __init__(self, in_channels: int, layers: int, growth_rate: int, norm: str, act: str, dropout: float,
                 checkpointing: bool) -> None:
        super().__init__()
        self.growth_rate = growth_rate
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth_rate, growth_rate, norm, act, dropout, checkpointing)
            for i in range(layers))

    def forward(self, x: torch.Tensor, *, keep_input: bool) -> torch.Tensor:
        if torch.is_grad_enabled():
            features = [x]
            for layer in self.layers:
                features.append(layer(features))
            return torch.cat(features if keep_input else features[1:], dim=1)
        return self._forward_in_place(x, keep_input)

    def _forward_in_place(self, x: torch.Tensor, keep_input: bool) -> torch.Tensor:
        """Without gradients: write each layer's features into one preallocated tensor, no re-concatenation."""
        width = x.shape[1]
        growth = self.growth_rate
        out = x.new_empty((x.shape[0], width + len(self.layers) * growth, *x.shape[2:]))
        out[:, :width] = x
        for i, layer in enumerate(self.layers):
            start = width + i * growth
            out[:, start:start + growth] = layer.body(out[:, :start])
        return out if keep_input else out[:, width:]


class DenseNet(SegmentationNet):
    """FC-DenseNet with anisotropic transitions and memory-efficient dense layers.

    ``layers`` gives the dense layers per block on the way down, the last entry being the
    bottleneck block (the way up mirrors the way down); ``strides`` one factor per transition
    ((z, y, x) triples or 2), ``first_channels`` the width of the first convolution,
    ``growth_rate`` the features each dense layer adds.
    """

    architecture = "densenet"

    def __init__(self, spatial_dims: int = 3, in_channels: int = 1, out_channels: int = 8, *,
                 first_channels: int = 24, growth_rate: int = 8, layers: Sequence[int] = (2, 3, 4, 5),
                 strides: Sequence[int | Triple] | None = None, norm: str = "batch", act: str = "relu",
                 dropout: float = 0.0, checkpointing: bool = True) -> None:
        super().__init__("densenet", spatial_dims, in_channels, out_channels)
        check_positive_int("densenet", "first_channels", first_channels)
        check_positive_int("densenet", "growth_rate", growth_rate)
        levels = len(layers) if isinstance(layers, Sequence) and not isinstance(layers, (str, bytes)) else 0
        if levels < 2:
            raise ModelError(f"densenet: layers={layers!r} must list the dense layers per block, at least two "
                             "entries (down blocks, then the bottleneck), e.g. (2, 3, 4, 5)")
        layers = per_level("densenet", "layers", layers, levels)
        strides = check_strides("densenet", strides if strides is not None else (2,) * (levels - 1), levels - 1)
        check_choice("densenet", "norm", norm, tuple(NORMS))
        check_choice("densenet", "act", act, tuple(ACTIVATIONS))
        dropout = check_fraction("densenet", "dropout", dropout)
        if not isinstance(checkpointing, bool):
            raise ModelError(f"densenet: checkpointing={checkpointing!r} must be True or False")
        self.arguments = jsonable(dict(spatial_dims=spatial_dims, in_channels=in_channels, out_channels=out_channels,
                                       first_channels=first_channels, growth_rate=growth_rate, layers=layers,
                                       strides=strides, norm=norm, act=act, dropout=dropout,
                                       checkpointing=checkpointing))
        self.factor = total_factor(strides)
        self._build(first_channels, growth_rate, layers, strides, norm, act, dropout, checkpointing)

    def _build(self, first: int, growth: int, layers: tuple[int, ...], strides: tuple[Triple, ...], norm: str,
               act: str, dropout: float, checkpointing: bool) -> None:
        def dense(cin: int, count: int) -> DenseBlock:
            return DenseBlock(cin, count, growth, norm, act, dropout, checkpointing)

        self.stem = conv3(self.in_channels, first, bias=True)
        width, skip_widths = first, []
        self.down, self.transitions_down = nn.ModuleList(), nn.ModuleList()
        for count, stride in zip(layers[:-1], strides):
            self.down.append(dense(width, count))
            width += count * growth
            skip_widths.append(width)
            self.transitions_down.append(nn.Sequential(
                *norm_act(norm, act, width), nn.Conv3d(width, width, kernel_size=1),
                nn.Dropout3d(dropout) if dropout else nn.Identity(), nn.MaxPool3d(stride, stride)))
        self.bottleneck = dense(width, layers[-1])
        new = layers[-1] * growth
        self.transitions_up, self.up = nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(len(strides))):
            stride = strides[level]
            self.transitions_up.append(nn.ConvTranspose3d(new, new, kernel_size=3, stride=stride, padding=1,
                                                          output_padding=tuple(s - 1 for s in stride)))
            self.up.append(dense(new + skip_widths[level], layers[level]))
            last_width = new + skip_widths[level] + layers[level] * growth
            new = layers[level] * growth
        self.head = nn.Conv3d(last_width, self.out_channels, kernel_size=1)

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for block, transition in zip(self.down, self.transitions_down):
            x = block(x, keep_input=True)
            skips.append(x)
            x = transition(x)
        x = self.bottleneck(x, keep_input=False)
        for step, (transition, block) in enumerate(zip(self.transitions_up, self.up)):
            x = torch.cat([transition(x), skips.pop()], dim=1)
            x = block(x, keep_input=step == len(self.up) - 1)
        return self.head(x)

