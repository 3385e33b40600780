"""The model registry: every trained model version of a store, its lineage, and which one is active.

Model versions live in the store's catalog (table ``models``) and their files under
``<store>/models/<model id>.pt``. Each version records its parent (the model it was fine-tuned
from), the data snapshot it was trained on (pairs of case id and label-version id), its recipe,
per-muscle metrics, and a status:

* ``candidate`` -- trained, not (yet) in use;
* ``active`` -- the model that segments new cases (at most one);
* ``rejected`` -- a candidate that failed the gate, or was rejected by hand;
* ``retired`` -- a formerly active model.

Nothing is ever deleted. Status changes are single catalog transactions and every change is
logged in ``model_events`` with the model it replaced, so a rollback is one status update
(instant) that re-activates the model which was active before the current one; repeated
rollbacks walk further back. Files are written to a temporary name, flushed and renamed before
the catalog row is committed, so a crash never leaves a row without its file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.errors import StoreError
from legseg_core.store.catalog import now_iso
from legseg_core.checksums import file_sha256
from legseg_core.store.naming import inside
from legseg_core.atomic import TEMPORARY_PREFIX, write_atomically

log = logging.getLogger(__name__)

MODEL_STATUSES = ("active", "candidate", "rejected", "retired")
MODEL_PREFIX = "model-"
MODELS_FOLDER = "models"

_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS model_events (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id),
    time TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    previous_active TEXT REFERENCES models(id),
    author TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
)"""

if TYPE_CHECKING:
    from legseg_core.store import Store


class UnknownModelError(StoreError):
    """A model id is not in the store's registry, or no model is active."""


class ModelStatusError(StoreError):
    """A status change that the registry refuses (rejecting the active model, nothing to roll back to)."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered model. ``file`` is relative to the store; ``training`` holds the preset, recipe,
    data snapshot and run facts; ``metrics`` the per-muscle validation and gate scores."""

    id: str
    parent_id: str | None
    created: str
    status: str
    architecture: str
    file: str
    sha256: str
    metrics: dict[str, Any]
    training: dict[str, Any]

    @property
    def preset(self) -> str:
        return str(self.training.get("preset", ""))

    @property
    def recipe(self) -> str:
        return str((self.training.get("recipe") or {}).get("name", ""))

    @property
    def data(self) -> list[tuple[str, str]]:
        """The data snapshot: (case id, label-version id) pairs the model was trained on."""
        return [(str(case), str(version)) for case, version in self.training.get("data", [])]

    @property
    def mean_dice(self) -> float | None:
        value = (self.metrics.get("validation") or {}).get("mean_dice")
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "parent_id": self.parent_id, "created": self.created, "status": self.status,
                "architecture": self.architecture, "preset": self.preset, "recipe": self.recipe,
                "file": self.file, "sha256": self.sha256, "metrics": self.metrics, "training": self.training}


class ModelRegistry:
    """The registered models of one store (``store`` is a :class:`legseg_core.store.Store`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = store.catalog
        self._ensure_events_table()

    def _ensure_events_table(self) -> None:
        exists = self.catalog.read(lambda c: c.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'model_events'").fetchone())
        if not exists:
            self.catalog.write(lambda c: c.execute(_EVENTS_TABLE))

    # ---- reading ---------------------------------------------------------------------------------

    def models(self, status: str | None = None) -> list[ModelVersion]:
        """Registered models, newest first (optionally of one status)."""
        sql, arguments = "SELECT * FROM models", []
        if status is not None:
            _check_status(status)
            sql, arguments = sql + " WHERE status = ?", [status]
        rows = self.catalog.read(lambda c: c.execute(sql + " ORDER BY created DESC, rowid DESC", arguments).fetchall())
        return [_model_from_row(row) for row in rows]

    def get(self, model_id: str) -> ModelVersion:
        """One model by id (a unique prefix is enough)."""
        rows = self.catalog.read(lambda c: c.execute("SELECT * FROM models WHERE id = ? OR id LIKE ? ORDER BY id",
                                                     (model_id, f"{model_id}%")).fetchall())
        exact = [row for row in rows if row["id"] == model_id]
        if exact or len(rows) == 1:
            return _model_from_row((exact or rows)[0])
        if not rows:
            raise UnknownModelError(f"model {model_id!r} is not registered in the store {self.store.root}; "
                                    "`legseg models list` shows the registered ones")
        raise UnknownModelError(f"model {model_id!r} is ambiguous: {', '.join(r['id'] for r in rows)}")

    def active(self) -> ModelVersion | None:
        """The active model, or None when the store has none yet."""
        found = self.models("active")
        return found[0] if found else None

    def require_active(self) -> ModelVersion:
        """The active model, or an error saying how to get one."""
        active = self.active()
        if active is None:
            raise UnknownModelError(f"the store {self.store.root} has no active model; train one with "
                                    "`legseg train` or promote one with `legseg models promote ID`")
        return active

    def events(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """The status log, oldest first (of one model, or of all)."""
        sql, arguments = "SELECT * FROM model_events", []
        if model_id is not None:
            sql, arguments = sql + " WHERE model_id = ?", [self.get(model_id).id]
        rows = self.catalog.read(lambda c: c.execute(sql + " ORDER BY id", arguments).fetchall())
        return [dict(row) for row in rows]

    def path(self, model: ModelVersion | str) -> Path:
        """The model file's absolute path."""
        model = self.get(model) if isinstance(model, str) else model
        return inside(self.store.root, model.file)

    def verified_path(self, model: ModelVersion | str) -> Path:
        """The model file's path after checking its sha256 against the catalog."""
        model = self.get(model) if isinstance(model, str) else model
        path = self.path(model)
        if not path.is_file() or file_sha256(path) != model.sha256:
            raise StoreError(f"{path}: the file of model {model.id} is missing or does not match its checksum")
        return path

    # ---- writing ---------------------------------------------------------------------------------

    def register(self, write_file: Callable[[Path, str], None], *, architecture: str, training: dict[str, Any],
                 metrics: dict[str, Any], parent_id: str | None = None, status: str = "candidate",
                 author: str = "", reason: str = "") -> ModelVersion:
        """Store a new model version: ``write_file(path, model_id)`` writes the model file (its card can
        carry the registry id); then one transaction adds the row (and, for ``active``, retires the
        model it replaces)."""
        _check_status(status)
        if status not in ("candidate", "active"):
            raise ModelStatusError(f"a new model is registered as candidate or active, not {status!r}")
        if parent_id is not None:
            parent_id = self.get(parent_id).id
        model_id = MODEL_PREFIX + uuid.uuid4().hex[:12]
        relative = f"{MODELS_FOLDER}/{model_id}.pt"
        path = inside(self.store.root, relative)
        write_atomically(path, lambda handle: _copy_written(lambda scratch: write_file(scratch, model_id), path,
                                                            handle), read_only=False, make_folder=True)
        row = dict(id=model_id, parent_id=parent_id, created=now_iso(), status="candidate", architecture=architecture,
                   file=relative, sha256=file_sha256(path), metrics_json=_dumps(metrics),
                   training_json=_dumps(training))
        try:
            self.catalog.write(lambda c: self._insert(c, row, status, author, reason))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        log.info("registered %s as %s", model_id, status)
        return self.get(model_id)

    def _insert(self, connection: sqlite3.Connection, row: dict[str, Any], status: str, author: str,
                reason: str) -> None:
        columns = ", ".join(row)
        connection.execute(f"INSERT INTO models ({columns}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        _log(connection, row["id"], "register", "candidate", None, author, reason)
        if status == "active":
            _activate(connection, row["id"], "promote", author, reason or "first model of the store")

    def promote(self, model_id: str, *, reason: str = "", author: str = "") -> ModelVersion:
        """Make a model active; the model active so far is retired (kept, and reachable by rollback)."""
        from legseg_core.models.checkpoint import validate_model_file

        target = self.get(model_id)
        if target.status == "active":
            raise ModelStatusError(f"model {target.id} is active already")
        validate_model_file(self.verified_path(target))
        self.catalog.write(lambda c: _activate(c, target.id, "promote", author, reason))
        return self.get(target.id)

    def reject(self, model_id: str, *, reason: str = "", author: str = "") -> ModelVersion:
        """Mark a candidate rejected (the active model cannot be rejected: roll back instead)."""
        target = self.get(model_id)
        if target.status == "active":
            raise ModelStatusError(f"model {target.id} is active; `legseg models rollback` retires it")
        self.catalog.write(lambda c: _set_status(c, target.id, "rejected", "reject", None, author, reason))
        return self.get(target.id)

    def update_metrics(self, model_id: str, metrics: dict[str, Any]) -> ModelVersion:
        """Merge ``metrics`` into a model's metrics (e.g. the gate's scores)."""
        target = self.get(model_id)
        merged = {**target.metrics, **metrics}
        self.catalog.write(lambda c: c.execute("UPDATE models SET metrics_json = ? WHERE id = ?",
                                               (_dumps(merged), target.id)))
        return self.get(target.id)

    def rollback(self, *, reason: str = "", author: str = "") -> ModelVersion:
        """Re-activate the model that was active before the current one; the current one is retired.

        Returns the model now active. Instant: one transaction of status updates, no file is touched."""
        return self.get(self.catalog.write(lambda c: _rollback(c, author, reason)))


# ---- transactions ------------------------------------------------------------------------------

def _activate(connection: sqlite3.Connection, model_id: str, action: str, author: str, reason: str,
              previous: str | None | bool = False) -> None:
    """Retire the active model (if another) and make ``model_id`` active, logging what it replaced.

    ``previous`` overrides the replaced model recorded in the log (rollback walks back the chain)."""
    current = connection.execute("SELECT id FROM models WHERE status = 'active'").fetchone()
    current_id = None if current is None else str(current["id"])
    if current_id is not None and current_id != model_id:
        _set_status(connection, current_id, "retired", "retire", None, author, f"replaced by {model_id}")
    recorded = current_id if previous is False else previous
    _set_status(connection, model_id, "active", action, recorded, author, reason)


def _rollback(connection: sqlite3.Connection, author: str, reason: str) -> str:
    current = connection.execute("SELECT id FROM models WHERE status = 'active'").fetchone()
    if current is None:
        raise ModelStatusError("no model is active, so there is nothing to roll back")
    target = _previous_active(connection, str(current["id"]))
    if target is None:
        raise ModelStatusError(f"model {current['id']} was the first active model; there is nothing to roll back to")
    earlier = _previous_active(connection, target)
    _set_status(connection, str(current["id"]), "retired", "retire", None, author, reason or "rolled back")
    _activate(connection, target, "rollback", author, reason or f"rolled back from {current['id']}", earlier)
    return target


def _previous_active(connection: sqlite3.Connection, model_id: str) -> str | None:
    """The model that ``model_id``'s latest activation replaced."""
    row = connection.execute("SELECT previous_active FROM model_events WHERE model_id = ? AND status = 'active' "
                             "ORDER BY id DESC LIMIT 1", (model_id,)).fetchone()
    return None if row is None or row["previous_active"] is None else str(row["previous_active"])


def _set_status(connection: sqlite3.Connection, model_id: str, status: str, action: str, previous: str | None,
                author: str, reason: str) -> None:
    connection.execute("UPDATE models SET status = ? WHERE id = ?", (status, model_id))
    _log(connection, model_id, action, status, previous, author, reason)


def _log(connection: sqlite3.Connection, model_id: str, action: str, status: str, previous: str | None,
         author: str, reason: str) -> None:
    connection.execute("INSERT INTO model_events (model_id, time, action, status, previous_active, author, reason) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (model_id, now_iso(), action, status, previous, author, reason))


# ---- helpers -----------------------------------------------------------------------------------

def _copy_written(write_file: Callable[[Path], None], final: Path, handle: Any) -> None:
    """Let ``write_file`` write to a scratch path, then stream those bytes into ``handle``."""
    scratch = final.parent / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}-write-{final.name}"
    try:
        write_file(scratch)
        with open(scratch, "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                handle.write(block)
    finally:
        scratch.unlink(missing_ok=True)


def _check_status(status: str) -> None:
    if status not in MODEL_STATUSES:
        raise StoreError(f"model status {status!r} is not one of {', '.join(MODEL_STATUSES)}")


def _dumps(value: dict[str, Any]) -> str:
    from legseg_core.evaluation.tables import jsonable

    return json.dumps(jsonable(value), sort_keys=True)


def _model_from_row(row: sqlite3.Row) -> ModelVersion:
    return ModelVersion(id=str(row["id"]), parent_id=row["parent_id"], created=str(row["created"]),
                        status=str(row["status"]), architecture=str(row["architecture"]), file=str(row["file"]),
                        sha256=str(row["sha256"]), metrics=json.loads(row["metrics_json"] or "{}"),
                        training=json.loads(row["training_json"] or "{}"))
