"""Model files: one file holding the weights and the model card; loading one executes no code.

A model file is a ``torch.save`` archive of plain data only: a dict with the format name and
version, the card as a JSON string, the weights as a name -> tensor dict, and the stored
weight precision. It is read with ``torch.load(..., weights_only=True)``, whose unpickler
accepts tensors, dicts, lists, strings and numbers and refuses everything else, so a file
carrying a pickled callable (or any other object) is refused before anything of it runs.
Weights may be stored in half precision (``half=True``) to ship small files; they are loaded
back as float32.
"""

from __future__ import annotations

import json
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from legseg_core.atomic import write_atomically, write_text_atomically
from legseg_core.errors import CheckpointError, InputPathError, LegsegError
from legseg_core.models.blocks import SegmentationNet
from legseg_core.models.card import ModelCard, check_label_map
from legseg_core.models.registry import ARCHITECTURES, rebuild_model

log = logging.getLogger(__name__)

#: The format name stored in every LegSeg model file.
FILE_FORMAT = "legseg-model"
#: Version of the file layout; readers refuse newer ones.
FILE_FORMAT_VERSION = 1
#: The largest network a model file may describe (the largest shipped preset has a few million).
MAX_PARAMETERS = 500_000_000


def save_checkpoint(network: SegmentationNet, card: ModelCard, path: str | Path, *, half: bool = False,
                    card_beside: bool = False) -> Path:
    """Write ``network``'s weights and ``card`` to ``path`` (atomically: a crash leaves no partial file).

    The card must describe the network (same architecture and constructor arguments); build it
    with :meth:`ModelCard.for_network`. ``half=True`` stores floating-point weights as float16.
    ``card_beside=True`` also writes the card as ``<name>.json`` next to the file, which tools
    without torch (the GUI's model picker) can read.
    """
    path = Path(path)
    _check_card_matches(network, card, path)
    check_label_map(card, source=str(path))
    weights = {name: _stored(tensor, half) for name, tensor in network.state_dict().items()}
    payload = {"format": FILE_FORMAT, "format_version": FILE_FORMAT_VERSION,
               "card": json.dumps(card.to_dict(), sort_keys=True), "weights": weights,
               "weights_dtype": "float16" if half else "float32"}
    write_atomically(path, lambda handle: torch.save(payload, handle), make_folder=True)
    if card_beside:
        write_text_atomically(path.with_suffix(".json"), json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n")
    log.info("wrote model %s (%s) to %s", card.model_id, card.architecture, path)
    return path


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[SegmentationNet, ModelCard]:
    """Read a model file: the rebuilt network (in eval mode, on ``device``) and its card.

    Raises :class:`CheckpointError` naming the file when it is not a LegSeg model file, is
    corrupt, carries anything but plain data, names an unknown architecture, or does not
    segment LegSeg's seven muscles (label map, output channels or weight shapes).
    """
    path = Path(path)
    payload = read_payload(path)
    card = card_from_payload(payload, path)
    _check_weights(payload["weights"], card, path)
    weights = {name: tensor.float() if tensor.is_floating_point() else tensor
               for name, tensor in payload["weights"].items()}
    _check_finite(weights, path)
    with torch.device("meta"):  # built without memory or random initial weights: the file's weights become its own
        network = _network_for(card, path)
    try:
        network.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: its weights do not fit the {card.architecture} network its card "
                              f"describes: {str(error).splitlines()[0]}") from None
    return network.to(device).eval(), card


def validate_model_file(path: str | Path) -> ModelCard:
    """Open a model file as :func:`load_checkpoint` does (every check, the network built and its weights
    loaded) and return its card; the one validator run before a model file is used, shipped or promoted."""
    return load_checkpoint(path, "cpu")[1]


def _check_weights(weights: dict[Any, Any], card: ModelCard, path: Path) -> None:
    """Refuse weights that are not named tensors of the card's network (shapes checked on torch's meta device,
    before any memory is allocated)."""
    for name, tensor in weights.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: the weights must map names to tensors; {name!r} holds a "
                                  f"{type(tensor).__name__}")
    expected = _expected_shapes(card, path)
    found = {name: tuple(tensor.shape) for name, tensor in weights.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(n for n in found if found[n] != expected[n])
        raise CheckpointError(f"{path}: its weights do not fit the {card.architecture} network its card describes "
                              f"(e.g. {wrong[0]!r})")


def _check_finite(weights: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse weights that hold NaN or Inf; checked by numpy on the float32 weights (torch's checks, a thread
    pool's work for each tensor, and on float16 ten times slower, took a third of a second of every cold start)."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(np.isfinite(tensor.detach().cpu().numpy()).all()):
            raise CheckpointError(f"{path}: weight {name!r} holds NaN or Inf values; the model is broken "
                                  "(retrain it, or use another model file)")


def _expected_shapes(card: ModelCard, path: Path) -> dict[str, tuple[int, ...]]:
    """The weight shapes of the card's network, built on the meta device (no memory), refused when too large."""
    try:
        with torch.device("meta"):
            network = rebuild_model(card.architecture, card.arguments, preset=card.preset)
    except LegsegError as error:
        raise CheckpointError(f"{path}: its card's network arguments are invalid: {error}") from None
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise CheckpointError(f"{path}: its card's network arguments cannot build a network "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None
    shapes = {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}
    parameters = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes.values())
    if parameters > MAX_PARAMETERS:
        raise CheckpointError(f"{path}: its card describes a network of {parameters:,} parameters, more than "
                              f"{MAX_PARAMETERS:,}; it is not a LegSeg model")
    return shapes


def read_card(path: str | Path) -> ModelCard:
    """The card of a model file, without building the network."""
    path = Path(path)
    return card_from_payload(read_payload(path), path)


def read_payload(path: Path) -> dict[str, Any]:
    """The plain-data contents of a model file; refuses code, corrupt files and other formats."""
    if not path.is_file():
        raise InputPathError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a readable model file (corrupt or truncated): it is not the zip "
                              "archive torch.save writes")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "global" in str(error).lower():
            raise CheckpointError(f"{path}: refused: the file holds Python objects beyond plain tensors and "
                                  "data (loading it could run code); it is not a LegSeg model file") from None
        raise CheckpointError(f"{path}: not a readable model file (corrupt or truncated)") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as error:
        first = str(error).splitlines()[0] if str(error) else ""
        detail = type(error).__name__ if not first or "weights_only" in first else first
        raise CheckpointError(f"{path}: not a readable model file (corrupt or truncated): {detail}") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise CheckpointError(f"{path}: not a LegSeg model file (no '{FILE_FORMAT}' format marker)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FILE_FORMAT_VERSION:
        raise CheckpointError(f"{path}: model file format version {version!r} is not one this LegSeg reads "
                              f"(<= {FILE_FORMAT_VERSION}); update LegSeg")
    if not isinstance(payload.get("weights"), dict) or not isinstance(payload.get("card"), str):
        raise CheckpointError(f"{path}: the model file lacks its weights or its card")
    return payload


def card_from_payload(payload: dict[str, Any], path: Path) -> ModelCard:
    """Parse and check the card of a read model file."""
    try:
        data = json.loads(payload["card"])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the model card is not valid JSON: {error}") from None
    card = ModelCard.from_dict(data, source=str(path))
    if card.architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {card.architecture!r}; this LegSeg knows "
                              f"{', '.join(ARCHITECTURES)}")
    check_label_map(card, source=str(path))
    return card


def _network_for(card: ModelCard, path: Path) -> SegmentationNet:
    try:
        return rebuild_model(card.architecture, card.arguments, preset=card.preset)
    except LegsegError as error:
        raise CheckpointError(f"{path}: its card's network arguments are invalid: {error}") from None
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise CheckpointError(f"{path}: its card's network arguments cannot build a network "
                              f"({type(error).__name__})") from None


def _check_card_matches(network: SegmentationNet, card: ModelCard, path: Path) -> None:
    architecture = getattr(network, "architecture", None)
    if architecture != card.architecture or dict(getattr(network, "arguments", {})) != dict(card.arguments):
        raise CheckpointError(f"{path}: the card describes {card.architecture} {dict(card.arguments)}, but the "
                              f"network is {architecture} {getattr(network, 'arguments', None)}; build the card "
                              "with ModelCard.for_network(network)")


def _stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    tensor = tensor.detach().to("cpu")
    if half and tensor.is_floating_point():
        return tensor.to(torch.float16).clone()
    return tensor.clone()
