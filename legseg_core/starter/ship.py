"""Shipped starter models: from a trained model file to ``assets/models/<name>.pt``, and into new stores.

:func:`ship_model` rewrites a trained model file with float16 weights (a few MB) and a card
that carries the shipped name, the training commands and seeds, the training data summary,
every measured metric and the model's limits (``notes``). :func:`model_card_markdown` renders
that card as the ``assets/models/<name>.md`` that people read.

:func:`register_starter_models` registers every shipped starter model in a store, the U-Net
active and the others as candidates, so that a new store segments from the start and its
first fine-tuning has a model to start from. ``legseg store init`` calls it unless told not to.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.errors import InputPathError, LegsegError
from legseg_core.labels import MUSCLE_BY_ID

log = logging.getLogger(__name__)

#: Shipped starter models in the order they are registered; the first becomes active.
STARTER_NAMES = ("unet-lite-starter", "resnet-lite-starter", "densenet-lite-starter")

if TYPE_CHECKING:
    from legseg_core.store import Store


def ship_model(trained: str | Path, out: str | Path, *, name: str, details: dict[str, Any],
               notes: str = "") -> Path:
    """Write ``trained`` again at ``out`` with half-precision weights and a card naming it ``name``.

    ``details`` is merged into the card's ``training`` record (commands, seeds, cohort, wall
    time) except its ``metrics`` entry, which is merged into the card's metrics.
    """
    from legseg_core.models import load_checkpoint, save_checkpoint

    trained = Path(trained)
    if not trained.is_file():
        raise InputPathError(f"{trained}: no such model file to ship")
    network, card = load_checkpoint(trained)
    extra = dict(details)
    metrics = {**dict(card.metrics), **dict(extra.pop("metrics", {}))}
    # The network's own arguments: a file written before an argument existed gets its default spelled out.
    card = card.with_updates(name=name, notes=notes or card.notes, metrics=metrics, arguments=dict(network.arguments),
                             training={**dict(card.training), **extra})
    return save_checkpoint(network, card, Path(out), half=True)


def starter_model_files() -> list[Path]:
    """The shipped starter model files that exist, in :data:`STARTER_NAMES` order."""
    from legseg_core.model_lookup import shipped_model_folders

    found = []
    for name in STARTER_NAMES:
        files = [folder / f"{name}.pt" for folder in shipped_model_folders() if (folder / f"{name}.pt").is_file()]
        found.extend(files[:1])
    return found


def register_starter_models(store: Store) -> list[Any]:
    """Register the shipped starter models in ``store`` (the first active, the others candidates).

    Does nothing when the store has registered models already; returns the registered versions.
    """
    from legseg_core.models import read_card
    from legseg_core.training.registry import ModelRegistry

    registry = ModelRegistry(store)
    if registry.models():
        return []
    registered = []
    for path in starter_model_files():
        card = read_card(path)
        status = "active" if not registered else "candidate"
        version = registry.register(lambda scratch, _id, source=path: shutil.copyfile(source, scratch),
                                    architecture=card.architecture, status=status, author="legseg",
                                    reason=f"shipped starter model {path.stem}",
                                    training={"shipped": path.stem, "preset": card.preset,
                                              "recipe": dict(card.training).get("recipe")},
                                    metrics=dict(card.metrics))
        registered.append(version)
    log.info("registered %d starter models in %s", len(registered), store.root)
    return registered


def evaluation_summary(report: str | Path) -> dict[str, Any]:
    """Per-muscle mean Dice and AHD (voxels, mm) and the case count of a ``legseg evaluate --json`` file."""
    path = Path(report)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputPathError(f"{path}: not a readable `legseg evaluate --json` report ({error})") from error
    try:
        return _summarise_report(data, path)
    except (AttributeError, KeyError, TypeError) as error:
        raise InputPathError(f"{path}: not a `legseg evaluate --json` report (missing or mistyped {error})") from None


def _summarise_report(data: Any, path: Path) -> dict[str, Any]:
    models = data.get("models", {}) if isinstance(data, dict) else {}
    cases = [case for model in models.values() for case in model.get("cases", [])]
    if not cases:
        raise LegsegError(f"{path}: the report holds no scored cases")
    summary: dict[str, Any] = {"cases": len(cases)}
    for metric in ("dice", "ahd_voxels", "ahd_mm"):
        per_muscle = {}
        for label, muscle in MUSCLE_BY_ID.items():
            values = [m.get(metric) for case in cases for m in case["muscles"]
                      if m["label"] == label and _finite(m.get(metric))]
            per_muscle[muscle.abbr] = sum(values) / len(values) if values else math.nan
        finite = [v for v in per_muscle.values() if _finite(v)]
        per_muscle["mean"] = sum(finite) / len(finite) if finite else math.nan
        summary[metric] = per_muscle
    return summary


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def metrics_table(metrics: dict[str, Any]) -> str:
    """A Markdown table of every evaluation summary in ``metrics`` (rows: evaluation x metric)."""
    abbrs = [m.abbr for m in MUSCLE_BY_ID.values()]
    lines = ["| evaluation | metric | n | " + " | ".join(abbrs) + " | mean |",
             "|---|---|---|" + "---|" * (len(abbrs) + 1)]
    for title, summary in metrics.items():
        if not isinstance(summary, dict) or not isinstance(summary.get("dice"), dict):
            continue
        if isinstance(summary.get("cases"), list):  # the training run's validation record
            dice = {**summary["dice"], "mean": summary.get("mean_dice")}
            cells = [_number(dice.get(a)) for a in (*abbrs, "mean")]
            lines.append(f"| {title} ({summary.get('source', 'training')}) | dice | {len(summary['cases'])} | "
                         + " | ".join(cells) + " |")
            continue
        for metric in ("dice", "ahd_voxels", "ahd_mm"):
            values = summary.get(metric, {})
            cells = [_number(values.get(a)) for a in (*abbrs, "mean")]
            lines.append(f"| {title} | {metric} | {summary.get('cases', '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value: Any) -> str:
    return f"{value:.3f}" if _finite(value) else "-"


def model_card_markdown(path: str | Path, *, title: str, body: str) -> str:
    """The Markdown model card of a shipped file: ``body`` (prose), then the card's facts and metrics."""
    from legseg_core.models import read_card

    card = read_card(path)
    training = dict(card.training)
    facts = [f"- file: `{Path(path).name}` ({Path(path).stat().st_size / 1e6:.1f} MB, float16 weights)",
             f"- architecture: {card.architecture}, preset {card.preset}, arguments `{json.dumps(dict(card.arguments))}`",
             f"- preprocessing: patch shape {dict(card.preprocessing).get('patch_shape')}",
             f"- model id: {card.model_id}; LegSeg {card.legseg_version}; created {card.created}",
             f"- training cases: {len(card.training_data)} (case and label-version ids in the file's card)"]
    facts += [f"- {key.replace('_', ' ')}: {training[key]}" for key in sorted(training)
              if key not in ("commands", "recipe", "data", "history", "parent", "validation", "run_dir")]
    commands = "\n".join(training.get("commands", []))
    recipe = json.dumps(training.get("recipe"), indent=1, sort_keys=True)
    return (f"# {title}\n\n{body.strip()}\n\n## Facts\n\n" + "\n".join(facts) +
            f"\n\n## Metrics\n\n{metrics_table(dict(card.metrics))}\n\n"
            f"## Commands (in order, from the repository root)\n\n```\n{commands}\n```\n\n"
            f"## Recipe\n\n```json\n{recipe}\n```\n\n## Limits\n\n{card.notes}\n")
