"""``legseg info``: shape, spacing, orientation, value range and dtype of a scan."""

from __future__ import annotations

import argparse
from typing import Any

from legseg_core.commands.common import add_volume_options, print_json, volume_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="describe a scan (NIfTI file, DICOM file or folder)",
        description="Print the canonical [z, y, x] shape, spacing (mm), source orientation, value range "
                    "and data type of a NIfTI file or DICOM series.")
    parser.add_argument("path", help="a .nii/.nii.gz file, a DICOM file, or a folder of DICOM files")
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    add_volume_options(parser)
    parser.set_defaults(handler=run)


def describe(path: str, **options: Any) -> dict[str, Any]:
    """The facts `legseg info` reports, as a dict."""
    import numpy as np

    from legseg_core.io import load_volume

    volume = load_volume(path, **options)
    data = volume.data
    return {
        "path": str(path),
        "format": volume.geometry.format,
        "shape": list(volume.shape),
        "axes": "z, y, x (z inferior->superior, y anterior->posterior, x right->left)",
        "spacing": [round(s, 6) for s in volume.spacing],
        "source_shape": list(volume.geometry.shape),
        "source_orientation": volume.metadata.get("source_orientation"),
        "obliquity_degrees": volume.metadata.get("obliquity_degrees"),
        "dtype": str(data.dtype),
        "min": float(np.min(data)),
        "max": float(np.max(data)),
        "frame": volume.metadata.get("frame"),
        "affine": np.round(volume.affine, 6).tolist(),
    }


def run(args: argparse.Namespace) -> int:
    facts = describe(args.path, **volume_options(args))
    if args.json:
        print_json(facts)
        return 0
    for key in ("path", "format", "shape", "axes", "spacing", "source_shape", "source_orientation",
                "obliquity_degrees", "dtype", "min", "max", "frame"):
        if facts[key] is not None:
            print(f"{key:>18}: {facts[key]}")
    return 0
