"""Labels in the air: the clean-up after the way back, which drops muscle labels that lie outside the body.

:func:`drop_labels_in_air` is the :class:`~legseg_core.inference.Segmenter`'s one step between the labels
on the scan grid and the result (and MONAI's side of ``legseg bench inference`` runs it too). Arrays are
``[z, y, x]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def drop_labels_in_air(labels: np.ndarray, body: Any) -> int:
    """Set to background, in place, every connected group of muscle voxels (any label, 3D, face
    neighbours) of which less than half lies inside ``body`` (bool, same grid, or the coarse
    :class:`~legseg_core.preprocess.mask.BodyMask` of the scan); return the voxels dropped. Muscles
    lie inside the body: such groups are specks predicted in the air, as in the gap between the legs. A muscle isolated from the others (TP between the bones) is kept, and so is
    the largest group, whatever lies under it.
    Then every muscle voxel more than :data:`AIR_MARGIN_VOXELS` (in-plane) outside the body is
    dropped as well, whatever group it belongs to: a network can grow a sheet of labels from a leg
    into the air (seen on a whole-leg 3D Dixon scan), which the group rule keeps because the sheet
    touches the leg. That step is skipped if it would drop half of the labels or more (a body mask
    that missed a leg).
    The probabilities and the uncertainty map are left as the network gave them. Only the box that
    holds the labels is searched, and a scan whose labels all lie in the body is left untouched.
    """
    box = labelled_box(labels)
    if box is None:
        return 0
    part = labels[box]  # a view: dropping writes into ``labels``
    body_part = _body_part(body, labels.shape, box)
    return _drop_groups_in_air(part, body_part) + _drop_voxels_far_outside(part, body_part)


#: Muscle voxels at most this far (voxels, in-plane) outside the body mask are kept: the mask's edge.
AIR_MARGIN_VOXELS = 2


def _drop_groups_in_air(part: np.ndarray, body_part: np.ndarray) -> int:
    """Drop (in place) the connected muscle groups less than half inside the body, except the largest."""
    from scipy import ndimage

    groups, count = ndimage.label(part > 0)
    if count < 2:  # the largest group always stays
        return 0
    sizes = np.bincount(groups.ravel(), minlength=count + 1)
    inside = np.bincount(groups[body_part], minlength=count + 1)
    in_air = inside * 2 < sizes
    in_air[0] = False
    in_air[1 + int(np.argmax(sizes[1:]))] = False  # the largest group stays: labels are never emptied
    if not in_air.any():
        return 0
    dropped = in_air[groups]
    part[dropped] = 0
    return int(dropped.sum())


def _drop_voxels_far_outside(part: np.ndarray, body_part: np.ndarray) -> int:
    """Drop (in place) muscle voxels more than :data:`AIR_MARGIN_VOXELS` outside the body, unless that is half of them."""
    from scipy import ndimage

    labelled = part > 0
    box = labelled_box(labelled & ~body_part)
    if box is None:
        return 0
    # the body is grown only around the labels outside it (its edge can lie at most the margin away)
    grown: tuple[slice, ...] = (box[0], *(slice(max(0, b.start - AIR_MARGIN_VOXELS), b.stop + AIR_MARGIN_VOXELS)
                                          for b in box[1:]))
    in_plane = ndimage.generate_binary_structure(2, 1)[None]  # the four in-plane neighbours
    near = ndimage.binary_dilation(body_part[grown], structure=in_plane, iterations=AIR_MARGIN_VOXELS)
    outside = labelled[grown] & ~near
    count = int(outside.sum())
    if count == 0 or count * 2 >= int(labelled.sum()):
        return 0
    part[grown][outside] = 0
    return count


def _body_part(body: Any, shape: tuple[int, ...], box: tuple[slice, slice, slice]) -> np.ndarray:
    """The body mask (bool) on the part ``box`` of the scan grid, from a mask on the grid or a coarse one."""
    from legseg_core.preprocess.mask import BodyMask, on_scan_grid

    if isinstance(body, BodyMask):
        return on_scan_grid(body, (shape[0], shape[1], shape[2]), box)
    return np.asarray(body[box], dtype=bool)


def labelled_box(labels: np.ndarray) -> tuple[slice, slice, slice] | None:
    """The smallest box (slices per axis) that holds every non-zero voxel of ``labels``; None if all are 0."""
    slices = labels.reshape(labels.shape[0], -1).any(axis=1)
    if not slices.any():
        return None
    z = np.flatnonzero(slices)
    block = labels[z[0]: z[-1] + 1]
    rows = np.flatnonzero(block.any(axis=(0, 2)))
    cols = np.flatnonzero(block.any(axis=(0, 1)))
    return slice(z[0], z[-1] + 1), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
