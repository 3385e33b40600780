"""One model from the mean of the weights of several models of one network (weight averaging).

Runs that start from the same weights and differ only in their seed or in part of their data end
in one basin of the loss, and the mean of their weights is a model of that basin (Wortsman et al.
2022, "model soups"; Izmailov et al. 2018, stochastic weight averaging). It can generalise better
than each run, and it varies less from one set of seeds to the next than a single run does (on
LegSeg's own starter runs it did not beat the best single run: README, starter models). It costs
nothing at inference: the result is one network of the same size.

Only models of one architecture, preset, set of constructor arguments and preprocessing can be
averaged, and the mean only makes sense for runs from one common starting model; the card of the
result records every source (file, model id, sha256, its own starting model) so that this can be
checked. Batch-norm statistics are averaged like the weights; integer buffers (batch-norm's step
counters) take the largest value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from legseg_core.checksums import file_sha256
from legseg_core.errors import CheckpointError, InputPathError, ModelError
from legseg_core.models.blocks import SegmentationNet
from legseg_core.models.card import ModelCard
from legseg_core.models.checkpoint import load_checkpoint

#: What must be equal in every averaged model's card, with the words an error uses for it.
_SAME = (("architecture", "architecture"), ("preset", "preset"), ("arguments", "network arguments"),
         ("preprocessing", "preprocessing"))


def average_models(paths: Sequence[str | Path], *, name: str = "") -> tuple[SegmentationNet, ModelCard]:
    """The uniform mean of the weights of the model files ``paths`` (two or more), with a new card.

    Raises :class:`ModelError` for fewer than two files or a file listed twice (same weights: it
    would count double), and :class:`CheckpointError` naming the file whose network or
    preprocessing differs from the first one's, or that is not a readable model file.
    """
    files = [Path(path) for path in paths]
    if len(files) < 2:
        raise ModelError(f"averaging needs two or more model files; got {len(files)}")
    digests = [_sha256(path) for path in files]
    for index, digest in enumerate(digests):
        if digest in digests[:index]:
            raise ModelError(f"{files[index]}: the same model as {files[digests.index(digest)]}; each model may be "
                             "averaged once")
    network, first = load_checkpoint(files[0])
    sums = {key: value.double() if value.is_floating_point() else value.clone()
            for key, value in network.state_dict().items()}
    cards = [first]
    for path in files[1:]:
        other, card = load_checkpoint(path)
        for field, words in _SAME:
            if _plain(getattr(card, field)) != _plain(getattr(first, field)):
                raise CheckpointError(f"{path}: {words} {_plain(getattr(card, field))!r}, but {files[0]} has "
                                      f"{_plain(getattr(first, field))!r}; only models of one network can be averaged")
        for key, value in other.state_dict().items():
            sums[key] = sums[key] + value.double() if value.is_floating_point() else torch.maximum(sums[key], value)
        cards.append(card)
    count = len(files)
    network.load_state_dict({key: (value / count).float() if value.is_floating_point() else value
                             for key, value in sums.items()})
    return network.eval(), _card(network, files, digests, cards, name)


def _card(network: SegmentationNet, files: list[Path], digests: list[str], cards: list[ModelCard],
          name: str) -> ModelCard:
    """The card of the mean: the sources with their starting models, and every case any of them learnt from."""
    data: dict[tuple[str, str], None] = {}
    for card in cards:
        data.update(dict.fromkeys(card.training_data))
    sources = [{"file": str(path), "model_id": card.model_id, "sha256": digest,
                "init": card.training.get("init"), "parent": card.parent_model_id, "seed": card.training.get("seed"),
                "steps": card.training.get("steps")}
               for path, digest, card in zip(files, digests, cards)]
    starts = {_start(card) for card in cards}
    notes = (f"uniform mean of the weights of {len(cards)} models" +
             ("" if len(starts) == 1 else f"; they start from {len(starts)} different models"))
    return ModelCard.for_network(network, preprocessing=dict(cards[0].preprocessing), training_data=list(data),
                                 training={"kind": "average", "averaged": sources,
                                           "parent": cards[0].parent_model_id, "recipe": cards[0].recipe},
                                 name=name, notes=notes)


def _start(card: ModelCard) -> str:
    """What a model started from: its init file's model id, else its parent, else nothing (trained from scratch)."""
    init = card.training.get("init")
    if isinstance(init, dict) and init.get("model_id"):
        return str(init["model_id"])
    return card.parent_model_id or ""


def _plain(value: Any) -> Any:
    """A card field as plain, comparable data (mappings become dicts, tuples lists)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _sha256(path: Path) -> str:
    """The sha256 of a model file."""
    if not path.is_file():
        raise InputPathError(f"{path}: no such model file")
    return file_sha256(path)
