"""Package names imported on first use (PEP 562), so that importing one module of a package does not
import all the others.

A package lists each public name with the module that defines it and sets
``__getattr__ = lazy_exports(__name__, EXPORTS)``; ``from package import Name`` then imports only the
module of ``Name``. Its ``if TYPE_CHECKING:`` imports keep the names visible to type checkers. A cold
``legseg segment`` imports torch, numpy, nibabel and scipy.ndimage and little else this way: the store,
the training loop, the evaluation and the phantoms come only when a command uses them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``package.<exports[name]>`` when ``name`` is first
    used and keeps the value in the package (later uses cost nothing); other names raise AttributeError."""
    def __getattr__(name: str) -> Any:  # noqa: N807 - the module attribute hook's own name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
