"""Label maps from other tools onto LegSeg's muscle ids: label schemes.

A label scheme maps the values of another tool's label map onto the muscle ids 1..7 (0 stays
background). ``--relabel SCHEME`` on every command that reads labels, the app and the napari
reader accept:

- a built-in scheme name: ``qmritools-calf`` (the QMRITools demo calf labels, values 13 to 26,
  odd values on the patient's right leg; see ``shared/data/calf-qmritools/README.md`` for how the
  mapping was inferred) or ``legseg`` (the identity on 0..7);
- an ITK-SNAP label description file (``.txt``/``.label``): each value's label text is matched
  against the muscle names other tools use (abbreviations, full names, Dafne's ROI names such as
  ``SOL``, ``ELD``, ``PE``, with or without a side), and values named as non-muscle tissue (bone,
  fat, skin, "Clear Label") become background;
- an inline list ``VALUE=MUSCLE,...`` where MUSCLE is an id 0..7, an abbreviation or a name,
  e.g. ``13=GM,15=GL,17=SOL``.

A value present in the label map and absent from the scheme is refused, naming the values and
the scheme: nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from legseg_core.errors import ImageValueError, LegsegError
from legseg_core.labels import MUSCLES, NUM_CLASSES

QMRITOOLS_CALF: dict[int, int] = {13: 2, 14: 2, 15: 1, 16: 1, 17: 3, 18: 3, 19: 4, 20: 4,
                                  21: 5, 22: 5, 23: 6, 24: 6, 25: 7, 26: 7}
#: Values of the QMRITools demo labels that lie on the patient's right leg.
QMRITOOLS_CALF_RIGHT = frozenset(range(13, 27, 2))

KNOWN_MAPPINGS: dict[str, dict[int, int]] = {"qmritools-calf": QMRITOOLS_CALF,
                                             "legseg": {m.id: m.id for m in MUSCLES}}

#: Names of the muscles in other tools' label files, normalised (lower case, single spaces, no side):
#: LegSeg's abbreviations and full names, common English and Latin names, and Dafne's calf ROI names.
MUSCLE_ALIASES: dict[str, int] = {
    **{m.abbr.lower(): m.id for m in MUSCLES}, **{m.name.lower(): m.id for m in MUSCLES},
    "lg": 1, "gas lat": 1, "gastroc lat": 1, "lateral gastrocnemius": 1, "gastrocnemius lateral head": 1,
    "gastrocnemius lateralis": 1, "lat gastrocnemius": 1, "gastrocnemius lat": 1,
    "mg": 2, "gas med": 2, "gastroc med": 2, "medial gastrocnemius": 2, "gastrocnemius medial head": 2,
    "gastrocnemius medialis": 2, "med gastrocnemius": 2, "gastrocnemius med": 2,
    "so": 3, "sol": 3, "soleus": 3,
    "tibialis anterior": 4, "tib ant": 4,
    "pe": 5, "pl": 5, "per": 5, "pero": 5, "peroneus": 5, "peroneus longus": 5, "peroneus group": 5,
    "peronei": 5, "fibularis": 5, "fibularis longus": 5, "peroneus longus and brevis": 5,
    "eld": 6, "edl": 6, "extensor digitorum longus": 6, "extensor digitorum": 6, "extensors": 6,
    "extensor digitorum longus and extensor hallucis longus": 6,
    "tibialis posterior": 7, "tib post": 7,
}
#: Label texts of tissue that is not one of the seven muscles: such values become background.
NON_MUSCLE_NAMES = frozenset({"clear label", "background", "bg", "none", "unlabeled", "unlabelled", "bone",
                              "tibia", "fibula", "fat", "subcutaneous fat", "scf", "skin", "marrow", "vessel",
                              "vessels", "fascia", "other", "air"})
_SIDE_WORDS: frozenset[str] = frozenset({"left", "right", "l", "r", "lt", "rt", "sx", "dx"})
_NOISE_WORDS: frozenset[str] = frozenset({"m", "muscle", "musculus", "mm"})


class LabelSchemeError(LegsegError):
    """A relabel scheme is unknown, unreadable, or does not cover the values of a label map."""


@dataclass(frozen=True)
class LabelScheme:
    """Source label values -> muscle ids (0 = background), with the scheme's name for messages."""

    name: str
    mapping: Mapping[int, int]

    def apply(self, data: np.ndarray, source: str = "labels") -> np.ndarray:
        """``data`` mapped onto uint8 muscle ids; values the scheme does not name are refused."""
        return remap_labels(data, self.mapping, what=f"{source}: relabel scheme {self.name!r}")


def normalise_name(text: str) -> str:
    """A label text reduced for matching: lower case, words only, no side and no 'muscle'."""
    words = re.split(r"[\s_\-./,()+&]+", text.strip().lower())
    kept = [w for w in words if w and w not in _SIDE_WORDS and w not in _NOISE_WORDS]
    return " ".join(kept)


def _aliases() -> dict[str, int]:
    return {normalise_name(name): muscle for name, muscle in MUSCLE_ALIASES.items()}


def muscle_id_for_name(text: str) -> int | None:
    """The muscle id 1..7 a label text names, 0 for named non-muscle tissue, None when unknown."""
    name = normalise_name(text)
    if name in _ALIASES:
        return _ALIASES[name]
    if name in NON_MUSCLE_NAMES or not name:
        return 0
    return None


_ALIASES = _aliases()


def label_scheme(spec: str) -> LabelScheme:
    """The scheme a ``--relabel`` value names: a built-in name, a label description file or ``V=MUSCLE,...``."""
    spec = str(spec).strip()
    if spec in KNOWN_MAPPINGS:
        return LabelScheme(spec, KNOWN_MAPPINGS[spec])
    if "=" in spec and not Path(spec).exists():
        return LabelScheme(spec, _inline_mapping(spec))
    path = Path(spec).expanduser()
    if path.is_file():
        return LabelScheme(path.name, _label_file_mapping(path))
    raise LabelSchemeError(f"--relabel {spec!r}: not a built-in scheme ({', '.join(KNOWN_MAPPINGS)}), an existing "
                           f"ITK-SNAP label description file, or VALUE=MUSCLE pairs such as 13=GM,15=GL")


def _muscle_token(token: str, spec: str) -> int:
    token = token.strip()
    if token.isdigit() and 0 <= int(token) < NUM_CLASSES:
        return int(token)
    found = muscle_id_for_name(token)
    if found is None:
        raise LabelSchemeError(f"--relabel {spec!r}: {token!r} is not a muscle id 0..7 or a muscle name "
                               f"({', '.join(m.abbr for m in MUSCLES)})")
    return found


def _inline_mapping(spec: str) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        value, _, muscle = pair.partition("=")
        if not value.strip().isdigit():
            raise LabelSchemeError(f"--relabel {spec!r}: {pair!r} is not VALUE=MUSCLE with a whole VALUE")
        mapping[int(value)] = _muscle_token(muscle, spec)
    return mapping


def _label_file_mapping(path: Path) -> dict[int, int]:
    from legseg_core.errors import ImageFormatError
    from legseg_core.labels import read_itksnap_label_file

    try:
        table = read_itksnap_label_file(path)
    except (ImageFormatError, UnicodeDecodeError, OSError) as error:
        raise LabelSchemeError(f"--relabel {path}: not a readable ITK-SNAP label description file "
                               f"({str(error).splitlines()[0]})") from None
    mapping, unknown = {}, []
    for value, (text, _) in table.items():
        found = 0 if value == 0 else muscle_id_for_name(_strip_legseg_prefix(text))
        if found is None:
            unknown.append(f"{value} {text!r}")
        else:
            mapping[value] = found
    if unknown:
        raise LabelSchemeError(f"--relabel {path}: label names that match no muscle: {', '.join(unknown)}; give "
                               f"VALUE=MUSCLE pairs instead")
    if not any(mapping.values()):
        raise LabelSchemeError(f"--relabel {path}: no label of the file names one of the seven muscles")
    return mapping


def _strip_legseg_prefix(text: str) -> str:
    """LegSeg's own label files read 'GL gastrocnemius lateralis': the abbreviation decides."""
    first = text.split(" ", 1)[0]
    return first if first in {m.abbr for m in MUSCLES} else text


def remap_labels(data: np.ndarray, mapping: Mapping[int, int], *, strict: bool = True,
                 what: str = "labels") -> np.ndarray:
    """Map label values through ``mapping`` (0 stays 0) and return uint8 LegSeg labels.

    With ``strict`` a value that is neither 0 nor in the mapping raises ImageValueError naming
    them; otherwise it becomes background.
    """
    data = np.asarray(data)
    if not np.all(np.equal(np.mod(data, 1), 0)) or (data.size and data.min() < 0):
        raise ImageValueError(f"{what}: label values must be whole numbers >= 0")
    values = np.unique(data)
    unknown = sorted(int(v) for v in values if v != 0 and int(v) not in mapping)
    if unknown and strict:
        shown = ", ".join(str(v) for v in unknown[:12]) + (" ..." if len(unknown) > 12 else "")
        raise ImageValueError(f"{what}: label values {shown} have no entry in the scheme")
    top = int(max(values.max() if values.size else 0, max(mapping, default=0)))
    table = np.zeros(top + 1, dtype=np.uint8)
    for source, target in mapping.items():
        table[int(source)] = target
    return table[data.astype(np.int64)]


def values_text(values: np.ndarray | list[int], limit: int = 20) -> str:
    """'0, 13, 14, ..., 26 (15 values)' for a message: the first ``limit`` values and how many there are."""
    values = [int(v) for v in values]
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} values)" if len(values) > limit else "")


def needs_scheme(values: np.ndarray) -> bool:
    """True when label values are not LegSeg's muscle ids: outside 0..7 or not whole numbers."""
    values = np.asarray(values)
    if not values.size:
        return False
    return bool(values.min() < 0 or values.max() >= NUM_CLASSES or not np.all(np.equal(np.mod(values, 1), 0)))


def fitting_schemes(values: np.ndarray) -> list[str]:
    """The built-in schemes that map every non-zero value of ``values`` (LegSeg's own ids fit 'legseg')."""
    present = {int(v) for v in np.unique(values) if v != 0 and float(v).is_integer()}
    if len(present) != np.count_nonzero(np.unique(values)):
        return []
    return [name for name, mapping in KNOWN_MAPPINGS.items() if present <= set(mapping)]


def scheme_hint(values: np.ndarray) -> str:
    """The advice that follows a 'label values must lie in 0..7' error: which option, which scheme fits."""
    fits = fitting_schemes(values)
    suggestion = f" (--relabel {fits[0]} covers these values)" if fits else ""
    return (f"; map another tool's values with --relabel SCHEME{suggestion}: a built-in scheme "
            f"({', '.join(KNOWN_MAPPINGS)}), an ITK-SNAP label description file or VALUE=MUSCLE pairs")
