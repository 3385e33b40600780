"""On-the-fly augmentation of a batch of patches: intensity (contrast, gamma, bias field, noise, and
optionally a brightness per label and a grainy texture) and geometry (small in-plane rotations and
scaling, and optionally a smooth in-plane elastic deformation).

Images are ``[batch, 1, z, y, x]`` float tensors range-normalised to 0..100 by preprocessing;
labels are ``[batch, z, y, x]`` integer tensors with ids 0..7, or 255 for voxels that are not
labelled (case adaptation), which move with the geometry and keep their brightness. Left/right is already handled by
preprocessing (the left leg is mirrored onto the right), so there is no flip here. Every
transform is drawn per patch with probability ``probability`` from a ``torch.Generator``, so
a run with a fixed seed augments identically when it is repeated or resumed. Geometry moves
image and labels together (trilinear for the image, nearest neighbour for the labels); the
rotation is about the z axis, since slices are thick and the legs stand along z.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from legseg_core.errors import TrainingError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms. Intensities are on the 0..100 scale of the patches.

    ``contrast``: factor range around the patch mean; ``gamma_log``: the gamma exponent is
    ``exp(u)`` with ``u`` in this range; ``bias_amplitude``: standard deviation of the log of a
    smooth multiplicative field drawn on a ``bias_grid`` (z, y, x) grid; ``noise_std``: largest
    Gaussian noise SD; ``rotation_degrees``: largest in-plane rotation; ``scale``: in-plane zoom range;
    ``elastic``: standard deviation, in voxels, of a smooth in-plane displacement drawn on an
    ``elastic_grid`` (z, y, x) grid and interpolated to the patch (0: none, and no random numbers are
    drawn for it, so recipes without it augment exactly as before). It changes the shapes of the
    muscles, not only their pose: the most useful transform when a model learns from very few cases.
    ``label_intensity``: standard deviation of the log of a random brightness factor drawn for each
    label of each patch (background included) and applied to its voxels, so that a network fine-tuned
    on a few real cases does not learn the brightness of each muscle in them (a coil's shading differs
    from leg to leg); 0: none, no random numbers drawn. ``label_split``: standard deviation of the log of
    a brightness factor for one side of a random in-plane line through each muscle of each patch, so
    that an edge of brightness inside a muscle (the compartments of a pennate muscle in a diffusion
    image, an aponeurosis, patchy fat or oedema) is not taken for the muscle's border; 0: none, no
    random numbers drawn. ``texture``: largest standard deviation of a multiplicative grain, Gaussian noise
    smoothed in-plane over ``texture_scale`` (low, high) voxels (z barely), as real images show it: noise
    that zero-filled or interpolated reconstruction correlates over a voxel or two, and the grain of muscle
    fibres, fat and vessels. Label-map synthesis renders each tissue smooth; a network trained on it alone
    can take the grain of a real muscle for boundaries. 0: none, no random numbers drawn.
    """

    probability: float = 0.7
    contrast: tuple[float, float] = (0.75, 1.25)
    gamma_log: tuple[float, float] = (-0.35, 0.35)
    bias_amplitude: float = 0.2
    bias_grid: tuple[int, int, int] = (2, 3, 3)
    noise_std: float = 3.0
    rotation_degrees: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    elastic: float = 0.0
    elastic_grid: tuple[int, int, int] = (2, 4, 4)
    label_intensity: float = 0.0
    label_split: float = 0.0
    texture: float = 0.0
    texture_scale: tuple[float, float] = (0.5, 2.0)

    def __post_init__(self) -> None:
        for name in ("contrast", "gamma_log", "bias_grid", "scale", "elastic_grid", "texture_scale"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not 0.0 <= self.probability <= 1.0:
            raise TrainingError(f"augmentation probability={self.probability!r} must lie in 0..1")
        for name in ("contrast", "gamma_log", "scale", "texture_scale"):
            low, high = getattr(self, name)
            if not low <= high:
                raise TrainingError(f"augmentation {name}={getattr(self, name)!r} must be (low, high), low <= high")
        if self.contrast[0] <= 0 or self.scale[0] <= 0 or self.texture_scale[0] <= 0:
            raise TrainingError(f"augmentation contrast={self.contrast}, scale={self.scale} and "
                                f"texture_scale={self.texture_scale} must be above 0")
        spreads = ("bias_amplitude", "noise_std", "rotation_degrees", "elastic", "label_intensity", "label_split",
                   "texture")
        negative = [f"{name}={getattr(self, name)}" for name in spreads if getattr(self, name) < 0]
        if negative:
            raise TrainingError(f"augmentation {', '.join(negative)}: {', '.join(spreads)} must be >= 0")
        for name in ("bias_grid", "elastic_grid"):
            grid = getattr(self, name)
            if len(grid) != 3 or min(grid) < 1:
                raise TrainingError(f"augmentation {name}={grid!r} must be three whole numbers >= 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AugmentConfig":
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise TrainingError(f"unknown augmentation settings {unknown}")
        return cls(**data)


def augment_batch(images: torch.Tensor, labels: torch.Tensor, config: AugmentConfig,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies of ``images`` ``[b, 1, z, y, x]`` (float) and ``labels`` ``[b, z, y, x]`` (int)."""
    images, labels = _geometry(images, labels, config, generator)
    if config.label_intensity > 0:
        images = _label_intensity(images, labels, config, generator)
    if config.label_split > 0:
        images = _label_split(images, labels, config, generator)
    if config.texture > 0:
        images = _texture(images, config, generator)
    images = _contrast(images, config, generator)
    images = _gamma(images, config, generator)
    images = _bias_field(images, config, generator)
    return _noise(images, config, generator), labels


def _chosen(batch: int, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """A ``[b]`` bool tensor: which patches get this transform."""
    import torch

    return torch.rand(batch, generator=generator) < config.probability


def _uniform(batch: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    import torch

    return low + (high - low) * torch.rand(batch, generator=generator)


def _per_patch(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1, 1)


def _contrast(images, config, generator):
    chosen = _chosen(images.shape[0], config, generator)
    factor = _uniform(images.shape[0], *config.contrast, generator).where(chosen, _ones(chosen))
    mean = images.mean(dim=(1, 2, 3, 4), keepdim=True)
    return (images - mean) * _per_patch(factor).to(images) + mean


def _label_intensity(images, labels, config, generator):
    """Each label's voxels brighter or darker by a random factor of their own (per patch)."""
    import torch

    from legseg_core.labels import NUM_CLASSES

    batch = images.shape[0]
    chosen = _chosen(batch, config, generator)
    log_factor = torch.randn((batch, NUM_CLASSES), generator=generator) * config.label_intensity
    factor = torch.exp(log_factor * chosen.float().view(-1, 1)).to(images.device)
    factor = torch.cat([factor, torch.ones((batch, 1), device=factor.device)], dim=1)  # unlabelled: unchanged
    index = labels.long().clamp(max=NUM_CLASSES).reshape(batch, -1)
    voxel_factor = torch.gather(factor, 1, index).view(labels.shape)
    return images * voxel_factor.unsqueeze(1).to(images)


def _label_split(images, labels, config, generator):
    """In each chosen patch, each muscle's voxels on one side of a random in-plane line through a random
    voxel of it brighter or darker by a random factor of their own."""
    import math

    import torch

    from legseg_core.labels import NUM_CLASSES

    images = images.clone()
    chosen = _chosen(images.shape[0], config, generator)
    rows = torch.arange(labels.shape[2], dtype=torch.float32).view(1, -1, 1)
    cols = torch.arange(labels.shape[3], dtype=torch.float32).view(1, 1, -1)
    for index in range(images.shape[0]):
        angles = torch.rand(NUM_CLASSES, generator=generator) * (2 * math.pi)
        factors = torch.exp(torch.randn(NUM_CLASSES, generator=generator) * config.label_split)
        picks = torch.rand(NUM_CLASSES, generator=generator)
        if not chosen[index]:
            continue
        patch = labels[index].cpu()
        for label in range(1, NUM_CLASSES):
            muscle = patch == label
            where = torch.nonzero(muscle)
            if len(where) < 2:
                continue
            _, y0, x0 = where[min(int(picks[label] * len(where)), len(where) - 1)].tolist()
            side = (rows - y0) * torch.cos(angles[label]) + (cols - x0) * torch.sin(angles[label]) > 0
            part = muscle & side
            images[index, 0][part.to(images.device)] *= float(factors[label])
    return images


def _texture(images, config, generator):
    """Each chosen patch times ``1 + n``: ``n`` Gaussian noise smoothed in-plane over a random scale (a third of
    it along z) and scaled to a random standard deviation up to ``config.texture``."""
    import torch
    from torch.nn import functional

    batch = images.shape[0]
    chosen = _chosen(batch, config, generator)
    scales = _uniform(batch, *config.texture_scale, generator)
    spreads = _uniform(batch, 0.0, config.texture, generator) * chosen.float()
    noise = torch.randn(images.shape, generator=generator)
    grains = []
    for index in range(batch):
        grain = noise[index:index + 1]
        if spreads[index] > 0:
            sigma = float(scales[index])
            for axis, axis_sigma in ((2, sigma / 3), (3, sigma), (4, sigma)):
                grain = _gaussian_along(grain, axis, axis_sigma, functional)
            grain = grain * (spreads[index] / grain.std().clamp(min=1e-6))
        else:
            grain = torch.zeros_like(grain)
        grains.append(grain)
    return images * (1 + torch.cat(grains).to(images))


def _gaussian_along(volume, axis: int, sigma: float, functional):
    """``volume`` ``[1, 1, z, y, x]`` smoothed along one axis by a Gaussian of ``sigma`` voxels (replicate edges)."""
    import torch

    if sigma < 0.2:
        return volume
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    shape = [1, 1, 1, 1, 1]
    shape[axis] = kernel.numel()
    pad = [0, 0, 0, 0, 0, 0]
    pad[2 * (4 - axis)], pad[2 * (4 - axis) + 1] = radius, radius
    return functional.conv3d(functional.pad(volume, pad, mode="replicate"), kernel.view(shape))


def _gamma(images, config, generator):
    import torch

    chosen = _chosen(images.shape[0], config, generator)
    gamma = torch.exp(_uniform(images.shape[0], *config.gamma_log, generator)).where(chosen, _ones(chosen))
    scale = 100.0
    return scale * (images.clamp(min=0.0) / scale) ** _per_patch(gamma).to(images)


def _bias_field(images, config, generator):
    import torch
    from torch.nn import functional

    batch = images.shape[0]
    chosen = _chosen(batch, config, generator)
    coarse = torch.randn((batch, 1, *config.bias_grid), generator=generator) * config.bias_amplitude
    coarse = coarse * _per_patch(chosen.float())
    field = functional.interpolate(coarse, size=tuple(images.shape[2:]), mode="trilinear", align_corners=True)
    return images * torch.exp(field).to(images)


def _noise(images, config, generator):
    import torch

    chosen = _chosen(images.shape[0], config, generator)
    sigma = _uniform(images.shape[0], 0.0, config.noise_std, generator) * chosen.float()
    noise = torch.randn(images.shape, generator=generator) * _per_patch(sigma)
    return images + noise.to(images)


def _geometry(images, labels, config, generator):
    """Rotate about z, zoom and deform in-plane; the same transform for a patch's image and labels."""
    import torch
    from torch.nn import functional

    batch = images.shape[0]
    chosen = _chosen(batch, config, generator)
    angle = _uniform(batch, -config.rotation_degrees, config.rotation_degrees, generator) * math.pi / 180.0
    zoom = _uniform(batch, *config.scale, generator)
    angle, zoom = angle * chosen.float(), zoom.where(chosen, _ones(chosen))
    if not bool(chosen.any()):
        return images, labels
    theta = torch.zeros(batch, 3, 4)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, 2, 2] = 1.0
    grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
    if config.elastic > 0:
        grid = grid + _elastic_displacement(images.shape, chosen, config, generator)
    grid = grid.to(images)
    moved = functional.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    moved_labels = functional.grid_sample(labels.unsqueeze(1).to(images), grid, mode="nearest",
                                          padding_mode="zeros", align_corners=False)
    keep = chosen.view(-1, 1, 1, 1, 1).to(images.device)
    images = torch.where(keep, moved, images)
    labels = torch.where(keep[:, 0], moved_labels[:, 0].round().to(labels.dtype), labels)
    return images, labels


def _elastic_displacement(shape, chosen, config, generator):
    """A smooth in-plane displacement ``[b, z, y, x, 3]`` in grid_sample's normalised units (zero
    for the patches not chosen and along z)."""
    import torch
    from torch.nn import functional

    batch, _, depth, height, width = shape
    coarse = torch.randn((batch, 2, *config.elastic_grid), generator=generator) * config.elastic
    coarse = coarse * _per_patch(chosen.float())
    voxels = functional.interpolate(coarse, size=(depth, height, width), mode="trilinear", align_corners=True)
    # normalised coordinates span 2 over the patch: one voxel is 2 / size (channel 0 moves x, 1 moves y)
    unit = torch.tensor([2.0 / width, 2.0 / height]).view(1, 2, 1, 1, 1)
    moved = (voxels * unit).permute(0, 2, 3, 4, 1)
    return torch.cat([moved, torch.zeros((batch, depth, height, width, 1))], dim=-1)


def _ones(like: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.ones(like.shape, dtype=torch.float32)
