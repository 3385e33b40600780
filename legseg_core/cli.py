"""The ``legseg`` command.

Each subcommand lives in ``legseg_core/commands/<name>.py`` and exposes ``register(subparsers)``;
other packages add theirs through the ``legseg.commands`` entry points (:mod:`legseg_core.extensions`:
the GUI adds ``legseg app``); heavy imports (torch, scipy) happen inside the handlers, so ``legseg --help`` is quick. Errors a
user can cause (:class:`LegsegError`) are printed as one message with a non-zero exit status and
no traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from legseg_core import __version__
from legseg_core.errors import CancelledError, LegsegError
from legseg_core.extensions import register_commands

#: Subcommand modules under legseg_core.commands, in the order `legseg --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "segment",
    "models",
    "bench",
    "evaluate",
    "overlap",
    "measure",
    "store",
    "phantom",
    "train",
    "finetune",
    "adapt",
    "experiment",
    "demo",
    "starter",
)

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_CANCELLED = 130


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand, or with subcommand ``only`` alone
    (which spares a command the imports of all the others: a cold ``legseg segment`` starts sooner)."""
    parser = argparse.ArgumentParser(
        prog="legseg", description="Segment the seven lower-leg muscles in 3D MRI, review, correct and fine-tune.")
    parser.add_argument("--version", action="version", version=f"legseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if only is None or name == only:
            importlib.import_module(f"legseg_core.commands.{name}").register(subparsers)
    if only is None:
        register_commands(subparsers)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand that ``argv`` runs, if it names a known one (the first word that is not an option)."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(named_command(argv))
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.options = extra  # passed on by commands that parse their own options (GUI benchmarks)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USER_ERROR
    stdout = sys.stdout
    sys.stdout = TerminalSafeOutput(stdout)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(set())
            return _run_handler(args)
    finally:
        sys.stdout = stdout


#: Format characters that reorder text on a terminal (bidirectional overrides and isolates).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def terminal_safe(text: str) -> str:
    """``text`` with control characters (terminal escapes, bidirectional overrides) shown escaped, so that
    stored text (notes, names) can never drive the terminal; newlines and tabs are kept."""
    return "".join(repr(c)[1:-1] if (c < " " and c not in "\n\t") or c == "\x7f" or "\x80" <= c <= "\x9f"
                   or c in _BIDI_CONTROLS else c for c in text)


class TerminalSafeOutput:
    """A stdout that writes every text through :func:`terminal_safe` (JSON escapes such characters already)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _run_handler(args: argparse.Namespace) -> int:
    """Run a subcommand; every error a user can cause becomes one line on stderr and an exit status."""
    try:
        return int(args.handler(args) or 0)
    except CancelledError as error:
        return _fail(f"legseg: {error}", EXIT_CANCELLED)
    except LegsegError as error:
        return _fail(f"legseg: error: {one_line(str(error))}", EXIT_USER_ERROR)
    except KeyboardInterrupt:
        return _fail("legseg: interrupted", EXIT_CANCELLED)
    except BrokenPipeError:
        return _closed_output()
    except OSError as error:  # a file that cannot be read or written after all checks (disk full, removed)
        return _fail(f"legseg: error: {describe_os_error(error)}", EXIT_USER_ERROR)
    except MemoryError:
        return _fail("legseg: error: not enough memory for this input (a scan this large needs a machine with more "
                     "memory, or a smaller crop)", EXIT_USER_ERROR)
    except Exception as error:  # a fault of LegSeg itself: one line, the traceback with --verbose
        if args.verbose:
            raise
        return _fail(f"legseg: internal error: {type(error).__name__}: {one_line(str(error))} "
                     "(run with --verbose for the traceback)", EXIT_INTERNAL_ERROR)


def one_line(text: str) -> str:
    """A message folded onto one line, with control characters (terminal escapes) shown escaped."""
    folded = " ".join(text.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in folded)


def describe_os_error(error: OSError) -> str:
    """'<file>: <reason>' for an operating-system error, naming the file where the error does."""
    reason = error.strerror or str(error)
    names = [str(n) for n in (error.filename, error.filename2) if n is not None]
    return one_line(f"{' -> '.join(names)}: {reason}" if names else reason)


def _fail(message: str, status: int) -> int:
    try:
        print(message, file=sys.stderr)
    except OSError:
        pass
    return status


def _closed_output() -> int:
    """The reader of stdout went away (``legseg ... | head``): stop quietly, as other command-line tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 0


def _one_line_warning(seen: set[str]) -> Callable[..., None]:
    """A warnings.showwarning that prints each distinct warning once, on one line."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        text = one_line(str(message))
        if text not in seen:
            seen.add(text)
            _fail(f"legseg: warning: {text}", 0)
    return show


def run() -> None:
    """The console script and ``python -m legseg_core.cli``: :func:`main`, then exit with its status.

    Before the exit every object is frozen out of the garbage collector. The interpreter's last
    collections would otherwise walk all of torch's objects to free memory the process is about to
    give back: 0.3 s of a cold ``legseg segment`` on a 2-core CPU (3.06 s against 2.76 s). Files,
    streams, threads and exit handlers still close as they always do.
    """
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
