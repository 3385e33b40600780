"""Reading a worker process's JSON lines (``--json-progress``): its progress, its result or its error.

The fine-tuning and adaptation panels run LegSeg commands in their own processes and follow what
they print on stdout, one JSON object a line. :class:`JsonLines` keeps the incomplete last line
between reads and hands over each complete line as a dict; :func:`progress_of` turns a progress
record into the :class:`~legseg_core.progress.Progress` the bar shows.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from legseg_core.progress import Progress

log = logging.getLogger(__name__)


class JsonLines:
    """Complete JSON lines of a byte stream read in pieces (``what`` names the process in the log)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._buffer = b""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The records of the lines ``data`` completes; the last, incomplete line waits for more."""
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        return [record for line in lines if (record := self.parse(line.decode("utf-8", "replace"))) is not None]

    def flush(self) -> list[dict[str, Any]]:
        """The record of a last line without a newline, once the process has ended."""
        rest, self._buffer = self._buffer, b""
        record = self.parse(rest.decode("utf-8", "replace"))
        return [record] if record is not None else []

    def parse(self, line: str) -> dict[str, Any] | None:
        """One line's record, or None for a blank line or one that is not a JSON object (logged)."""
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            log.debug("%s printed a line that is not a JSON object: %s", self.what, line)
            return None
        return record


def progress_of(record: dict[str, Any]) -> Progress:
    """The progress a record reports (``done``, ``total``, ``message``)."""
    return Progress(float(record.get("done", 0)), float(record.get("total", 0)), str(record.get("message", "")))
