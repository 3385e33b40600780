"""Scanner effects on a noise-free image: coil bias field, scaling, blur and Rician noise.

All images are float32 ``[z, y, x]`` on the acquisition grid. The bias field is smooth and
multiplicative (a receive-coil sensitivity: low-order polynomial in x, y and z plus a brighter
band near the anterior and posterior coil elements); noise is Rician, i.e. complex Gaussian
noise of standard deviation ``sigma`` added before taking the magnitude.
"""

from __future__ import annotations

import numpy as np

from legseg_core.phantom.grid import Grid


def bias_field(rng: np.random.Generator, grid: Grid, strength: float) -> np.ndarray:
    """A smooth multiplicative field (float32 ``[z, y, x]``, mean about 1); ``strength`` ~ its log range."""
    nz, ny, nx = grid.shape
    z = np.linspace(-1, 1, nz, dtype=np.float32)[:, None, None]
    y = np.linspace(-1, 1, ny, dtype=np.float32)[None, :, None]
    x = np.linspace(-1, 1, nx, dtype=np.float32)[None, None, :]
    c = (rng.normal(0, 1, 8) * strength).astype(np.float32)
    coil = np.float32(abs(c[7])) * (np.exp(-((y - 1) / 0.5) ** 2) + np.exp(-((y + 1) / 0.5) ** 2))
    log_field = (c[0] * x + c[1] * y + 0.5 * c[2] * z + 0.5 * c[3] * x * x + 0.5 * c[4] * y * y
                 + 0.5 * c[5] * x * y + 0.3 * c[6] * x * z + coil)
    field = np.exp(log_field - log_field.mean(), dtype=np.float32)
    return field.astype(np.float32, copy=False)


def add_rician_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of the image plus complex Gaussian noise of standard deviation ``sigma`` (float32)."""
    real = image + np.float32(sigma) * rng.standard_normal(image.shape, dtype=np.float32)
    imaginary = np.float32(sigma) * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imaginary * imaginary, dtype=np.float32)


def blur_in_plane(image: np.ndarray, sigma_voxels: float) -> np.ndarray:
    """Gaussian blur within each axial slice (sigma in voxels), as of a low-resolution readout."""
    if sigma_voxels <= 0:
        return image
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(image, sigma=(0, sigma_voxels, sigma_voxels)).astype(np.float32, copy=False)
