"""The model card: what a model file says about itself (JSON-ready, schema-versioned).

A card names the architecture, preset and full constructor arguments (enough to rebuild the
network), the label map (label value -> muscle abbreviation), the preprocessing configuration
the network was trained with, the training data it saw (case and label-version ids), its
metrics, the LegSeg version that wrote it, and free fields: a model id, a display name, how it
was trained (``training``: the recipe, the parent model it was fine-tuned from, anything else the
trainer wants to keep), the creation time and notes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from legseg_core import __version__
from legseg_core.errors import CheckpointError
from legseg_core.labels import MUSCLES

#: Version of the card layout written by this LegSeg; readers refuse newer ones.
CARD_SCHEMA_VERSION = 1

#: The label map every LegSeg model must carry: label value -> muscle abbreviation.
MUSCLE_LABEL_MAP: dict[int, str] = {m.id: m.abbr for m in MUSCLES}


def new_model_id(architecture: str, preset: str | None) -> str:
    """A fresh, unique model id such as ``unet-lite-3f2a9c1b0d7e``."""
    return f"{architecture}-{preset or 'custom'}-{uuid.uuid4().hex[:12]}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelCard:
    """Self-description of a model file. ``arguments`` rebuild the network with the registry."""

    architecture: str
    arguments: Mapping[str, Any]
    preset: str | None = None
    label_map: Mapping[int, str] = field(default_factory=lambda: dict(MUSCLE_LABEL_MAP))
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    training_data: tuple[tuple[str, str], ...] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    legseg_version: str = __version__
    model_id: str = ""
    name: str = ""
    created: str = field(default_factory=_now)
    notes: str = ""
    schema_version: int = CARD_SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "training_data", _pairs(self.training_data))

    @classmethod
    def for_network(cls, network: Any, **details: Any) -> "ModelCard":
        """A card for a registry-built network; ``details`` fill the other fields.

        ``training_data`` is a sequence of (case id, label-version id) pairs; the preprocessing
        defaults to :class:`legseg_core.preprocess.PreprocessConfig`'s defaults.
        """
        if "preprocessing" not in details:
            details["preprocessing"] = default_preprocessing()
        if not details.get("model_id"):
            details["model_id"] = new_model_id(network.architecture, network.preset)
        return cls(architecture=network.architecture, arguments=dict(network.arguments), preset=network.preset,
                   **details)

    @property
    def recipe(self) -> Any:
        """The training recipe recorded in ``training`` (None when not recorded)."""
        return self.training.get("recipe")

    @property
    def parent_model_id(self) -> str | None:
        """The id of the model this one was fine-tuned from (None for a model trained from scratch)."""
        parent = self.training.get("parent")
        return None if parent is None else str(parent)

    def with_updates(self, **changes: Any) -> "ModelCard":
        """A copy with some fields changed (cards are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (label map keys become strings)."""
        data = asdict(self)
        data["label_map"] = {str(k): v for k, v in self.label_map.items()}
        data["training_data"] = [list(pair) for pair in self.training_data]
        data["arguments"] = dict(self.arguments)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "model card") -> "ModelCard":
        """Read a card written by :meth:`to_dict`; a CheckpointError names ``source`` on bad content."""
        if not isinstance(data, Mapping):
            raise CheckpointError(f"{source}: the model card is not a JSON object")
        version = data.get("schema_version")
        if not isinstance(version, int) or version < 1:
            raise CheckpointError(f"{source}: the model card has no valid schema_version (found {version!r})")
        if version > CARD_SCHEMA_VERSION:
            raise CheckpointError(f"{source}: model card schema {version} is newer than this LegSeg "
                                  f"{__version__} reads ({CARD_SCHEMA_VERSION}); update LegSeg")
        known = {f.name for f in fields(cls)}
        missing = [name for name in ("architecture", "arguments") if name not in data]
        if missing:
            raise CheckpointError(f"{source}: the model card lacks {', '.join(missing)}")
        values = {k: v for k, v in data.items() if k in known}
        if not isinstance(values["arguments"], Mapping) or not isinstance(values["architecture"], str):
            raise CheckpointError(f"{source}: the model card's architecture must be a name and its arguments a "
                                  "JSON object")
        try:
            values["label_map"] = {int(k): str(v) for k, v in dict(values.get("label_map", {})).items()}
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{source}: the label map {values.get('label_map')!r} is not "
                                  "'label value -> name'") from error
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{source}: the model card is malformed: {error}") from error


def check_label_map(card: ModelCard, *, source: str) -> None:
    """Refuse a card whose label map or output channels differ from LegSeg's seven muscles."""
    if dict(card.label_map) != MUSCLE_LABEL_MAP:
        raise CheckpointError(f"{source}: its label map {dict(card.label_map)} does not match LegSeg's seven "
                              f"muscles {MUSCLE_LABEL_MAP}")
    outputs = card.arguments.get("out_channels")
    if outputs != len(MUSCLE_LABEL_MAP) + 1:
        raise CheckpointError(f"{source}: the network has out_channels={outputs!r}, but LegSeg needs "
                              f"{len(MUSCLE_LABEL_MAP) + 1} (background plus seven muscles)")


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    """Training data as (case id, label-version id) pairs; a ValueError names a malformed item."""
    pairs = []
    for item in items or ():
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValueError(f"training data item {item!r} is not a (case id, label-version id) pair")
        pairs.append((str(item[0]), str(item[1])))
    return tuple(pairs)


def default_preprocessing() -> dict[str, Any]:
    """The default preprocessing configuration as a dict."""
    from legseg_core.preprocess import PreprocessConfig

    return PreprocessConfig().to_dict()
