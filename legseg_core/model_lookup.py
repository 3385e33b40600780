"""From what a user types after ``--model`` to a model file.

``resolve_model(name_or_file)`` accepts, in this order:

1. the path of a model file;
2. the name of a model shipped with LegSeg (``assets/models/<name>.pt``);
3. a model registered in the store: ``active`` for the store's active model, or a model id
   (a unique prefix is enough); the store is ``store`` or the default one, if it exists.

Each source is one entry of :data:`MODEL_SOURCES`; a new kind of named model is one more entry.
An unknown name raises a :class:`ModelError` that lists every name available.

The lookup sits above the store and the training registry (it reads both), so that
:mod:`legseg_core.models` holds networks, model cards and model files only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from legseg_core.errors import InputPathError, ModelError, StoreError

if TYPE_CHECKING:
    from legseg_core.training.registry import ModelRegistry

log = logging.getLogger(__name__)

#: File suffixes of model files.
MODEL_SUFFIXES = (".pt", ".pth")


@dataclass(frozen=True)
class ModelSource:
    """A place named models come from: ``names(store)`` lists them, ``find(name, store)`` gives a file or None."""

    title: str
    names: Callable[[str | Path | None], list[str]]
    find: Callable[[str, str | Path | None], Path | None]


def shipped_model_folders() -> list[Path]:
    """Folders that may hold shipped models: ``assets/models`` of the source tree or of the package."""
    package = Path(__file__).resolve().parent
    return [folder for folder in (package.parent / "assets" / "models", package / "assets" / "models")
            if folder.is_dir()]


def _shipped_names(store: str | Path | None) -> list[str]:
    return sorted({p.stem for folder in shipped_model_folders() for p in folder.iterdir()
                   if p.suffix in MODEL_SUFFIXES})


def _shipped_find(name: str, store: str | Path | None) -> Path | None:
    for folder in shipped_model_folders():
        for suffix in MODEL_SUFFIXES:
            if (folder / f"{name}{suffix}").is_file():
                return folder / f"{name}{suffix}"
    return None


#: The catalog file of a store (``legseg_core.store.catalog.CATALOG_NAME``, which a test keeps equal), looked
#: for before the store and the training registry are imported: without a store, a cold ``legseg segment``
#: spares their imports.
STORE_CATALOG = "catalog.sqlite"


def _store_registry(store: str | Path | None) -> ModelRegistry | None:
    from legseg_core.store.location import resolve_store_path

    if not (resolve_store_path(store) / STORE_CATALOG).is_file():
        return None
    from legseg_core.store import Store
    from legseg_core.store.errors import StoreMissingError
    from legseg_core.training.registry import ModelRegistry

    try:
        return ModelRegistry(Store.open(store))
    except StoreMissingError:
        return None


def _registered_names(store: str | Path | None) -> list[str]:
    registry = _store_registry(store)
    if registry is None:
        return []
    ids = [model.id for model in registry.models()]
    return (["active"] if registry.active() is not None else []) + ids


def _registered_find(name: str, store: str | Path | None) -> Path | None:
    from legseg_core.training.registry import UnknownModelError

    registry = _store_registry(store)
    if registry is None:
        return None
    try:
        model = registry.require_active() if name == "active" else registry.get(name)
    except UnknownModelError:
        return None
    return registry.verified_path(model)


#: The sources of named models, searched in this order.
MODEL_SOURCES: tuple[ModelSource, ...] = (
    ModelSource("shipped with LegSeg", _shipped_names, _shipped_find),
    ModelSource("registered in the store", _registered_names, _registered_find),
)


def available_models(store: str | Path | None = None) -> dict[str, list[str]]:
    """The names each source offers now: source title -> names (sources that fail are logged, skipped)."""
    found: dict[str, list[str]] = {}
    for source in MODEL_SOURCES:
        try:
            found[source.title] = source.names(store)
        except StoreError as error:
            log.warning("cannot list models %s: %s", source.title, error)
            found[source.title] = []
    return found


def resolve_model(name_or_file: str | Path, *, store: str | Path | None = None) -> Path:
    """The model file for a path or a model name (see the module docstring for the order)."""
    text = str(name_or_file).strip()
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.exists():
        kind = "a folder" if path.is_dir() else "a pipe or device"
        raise InputPathError(f"{path}: is {kind}, not a model file")
    if path.suffix in MODEL_SUFFIXES or "/" in text or "\\" in text:
        raise InputPathError(f"{path}: no such model file")
    for source in MODEL_SOURCES:
        found = source.find(text, store)
        if found is not None:
            log.info("model %r resolved to %s (%s)", text, found, source.title)
            return found
    listing = "; ".join(f"{title}: {', '.join(names) if names else 'none'}"
                        for title, names in available_models(store).items())
    raise ModelError(f"unknown model {text!r}: it is not a model file and no named model has that name. "
                     f"Available: {listing}")


#: The model used when none is named and no store has an active one: the starter U-Net.
DEFAULT_STARTER = "unet-lite-starter"


@dataclass(frozen=True)
class ModelChoice:
    """The model file a command will use, and why, in words for its output."""

    path: Path
    reason: str


def default_model(store: str | Path | None = None) -> ModelChoice:
    """The model to use when none is named: the store's active model, else the starter U-Net."""
    from legseg_core.store.location import resolve_store_path

    try:
        registry = _store_registry(store)
    except StoreError as error:
        registry = None
        log.warning("the store cannot be read (%s); using the starter U-Net", error)
    if registry is not None and registry.active() is not None:
        found = _registered_find("active", store)
        if found is not None:
            return ModelChoice(found, f"the active model of the store {resolve_store_path(store)}")
    where = resolve_store_path(store)
    why = f"the store {where} has no active model" if registry is not None else f"no store at {where}"
    path = _shipped_find(DEFAULT_STARTER, store)
    if path is None:
        raise ModelError(f"no model named and none to default to: {why} and the starter model {DEFAULT_STARTER} "
                         f"is not installed; give --model")
    return ModelChoice(path, f"the starter {DEFAULT_STARTER}: {why}")
