#!/usr/bin/env python3
"""Run mypy and hold it to the baseline: no error outside .ci/mypy-baseline.txt, and the baseline only shrinks.

The baseline lists the errors that older modules still have, one ``path: [code] message`` per
line (no line numbers, so edits elsewhere in a file do not disturb it; an error that occurs n
times is listed n times). The check fails when mypy reports an error the baseline does not
list (fix it), and when the baseline lists an error mypy no longer reports (run with
``--update`` to drop it: the update only ever removes lines).

    python .ci/mypy_baseline.py [--update]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: (?P<message>.*?)\s+\[(?P<code>[a-z-]+)\]$")
HEADER = ("# mypy errors that older modules still have (.ci/mypy_baseline.py): fix them and remove their lines;\n"
          "# never add a line.\n")


def current_errors() -> tuple[Counter[str], str]:
    """The errors mypy reports now, as baseline lines, and mypy's full output."""
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    errors: Counter[str] = Counter()
    for line in run.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors[f"{match['path']}: [{match['code']}] {match['message']}"] += 1
    if run.returncode not in (0, 1) or (run.returncode == 1 and not errors):
        raise SystemExit(f"mypy failed to run:\n{run.stdout}{run.stderr}")
    return errors, run.stdout


def read_baseline() -> Counter[str]:
    lines = BASELINE.read_text(encoding="utf-8").splitlines() if BASELINE.exists() else []
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def write_baseline(errors: Counter[str]) -> None:
    BASELINE.write_text(HEADER + "".join(f"{line}\n" for line in sorted(errors.elements())), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="drop the baseline lines of errors that are fixed")
    args = parser.parse_args()
    errors, output = current_errors()
    baseline = read_baseline()
    new, fixed = errors - baseline, baseline - errors
    if args.update and fixed:
        write_baseline(baseline & errors)
        print(f"mypy baseline: removed {sum(fixed.values())} fixed error(s); {sum((baseline & errors).values())} left")
        fixed = Counter()
    for line in sorted(new):
        paths = [text for text in output.splitlines() if text.startswith(line.split(":")[0] + ":")
                 and line.split("] ", 1)[1] in text]
        print(f"new mypy error: {paths[0] if paths else line}")
    for line in sorted(fixed):
        print(f"fixed, remove from {BASELINE.name} (python .ci/mypy_baseline.py --update): {line}")
    if new or fixed:
        return 1
    print(f"mypy: no new errors ({sum(errors.values())} left in the baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
