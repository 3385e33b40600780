"""The check's tables: Markdown for ``report.md`` and compact text for the command line.

One row per muscle: volume (ml) in the right and the left leg, the left/right ratio (``*`` when
flagged), and for the labelled case the Dice in each leg (and, when it was scored in several in-plane
poses, each leg's Dice averaged over them); then the flags of the scan.
"""

from __future__ import annotations

import math

from legseg_core.labels import MUSCLES
from legseg_core.starter.realcheck.measures import MISSING_BELOW_ML, PROFILE_BAND_MM, RATIO_RANGE, LegAgreement
from legseg_core.starter.realcheck.poses import angle_text
from legseg_core.starter.realcheck.report import ModelReport, ScanReport


def muscle_rows(scan: ScanReport) -> tuple[list[str], list[list[str]]]:
    """The header and the rows (text cells) of one scan's table."""
    legs = scan.split.sides
    header = ["muscle", *(f"{leg} ml" for leg in legs)] + (["L/R"] if len(legs) == 2 else [])
    if scan.agreement is not None:
        header += [f"Dice {leg}" for leg in scan.agreement]
    poses = scan.poses
    if poses is not None:
        header += [f"Dice {leg}, {len(poses.angles)} poses" for leg in poses.legs]
        pose_dice = {leg: poses.muscle_dice(leg) for leg in poses.legs}
    rows = []
    for muscle in MUSCLES:
        row = [muscle.abbr, *(f"{scan.volumes.volumes_ml[leg][muscle.abbr]:.1f}" for leg in legs)]
        if len(legs) == 2:
            row.append(_ratio(scan.volumes.ratios.get(muscle.abbr)))
        if scan.agreement is not None:
            row += [_number(a.dice[muscle.abbr]) for a in scan.agreement.values()]
        if poses is not None:
            row += [_number(pose_dice[leg][muscle.abbr]) for leg in poses.legs]
        rows.append(row)
    if scan.agreement is not None:
        means = [_number(a.mean_dice) for a in scan.agreement.values()]
        if poses is not None:
            means += [_number(poses.mean_dice(leg)) for leg in poses.legs]
        rows.append(["mean", *([""] * (len(header) - 1 - len(means))), *means])
    return header, rows


def pose_lines(scan: ScanReport) -> list[str]:
    """One sentence on the Dice over the poses, or nothing when the scan was scored in one pose."""
    poses = scan.poses
    if poses is None:
        return []
    legs = "; ".join(f"{leg} {poses.mean_dice(leg):.3f} ({poses.spread(leg)[0]:.3f} to {poses.spread(leg)[1]:.3f})"
                     for leg in poses.legs)
    return [f"Mean Dice over {len(poses.angles)} in-plane poses ({', '.join(angle_text(a) for a in poses.angles)} "
            f"degrees; lowest to highest pose): {legs}."]


def text_report(report: ModelReport) -> str:
    """The command line's compact text: one block per scan."""
    lines = [f"{report.name} on {report.device} ({report.precision}) -> {report.out / 'report.md'}"]
    for scan in report.scans:
        lines.append(f"{scan.scan.key}: legs {'/'.join(scan.split.sides)}; {scan.seconds:.1f} s; {scan.overlay.name}")
        lines += [f"  note: {note}" for note in scan.notes]
        header, rows = muscle_rows(scan)
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
        for row in (header, *rows):
            lines.append("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths)).rstrip())
        if scan.agreement is not None:
            lines += [f"  GM/GL swap, {leg}: {_swap_text(a)}" for leg, a in scan.agreement.items()]
        lines += [f"  {line}" for line in pose_lines(scan)]
        lines += [f"  FLAG {flag}" for flag in scan.flags] or ["  no flags"]
        lines += [f"  where: {line}" for line in scan.differences]
    return "\n".join(lines)


def markdown_report(report: ModelReport) -> str:
    """``report.md``: the model, then per scan its notes, table, flags and picture."""
    card = report.card
    lines = [f"# Real-scan check: {report.name}", "",
             f"Model `{report.model_file.name}` ({card.get('architecture')}/{card.get('preset')}, id "
             f"`{card.get('model_id')}`) on {report.device} ({report.precision}); data `{report.data}`.",
             f"Written by `legseg starter realcheck`. Left/right volume ratios outside "
             f"{RATIO_RANGE[0]:g}..{RATIO_RANGE[1]:g} are flagged (`*`); a muscle under {MISSING_BELOW_ML:g} ml in a "
             "leg counts as missing. The right leg lies at smaller x (left on screen).", ""]
    for scan in report.scans:
        lines += [f"## {scan.scan.key}: {scan.scan.title}", "",
                  f"`{scan.scan.folder}/{scan.scan.file}`, {scan.shape[0]} x {scan.shape[1]} x {scan.shape[2]} voxels "
                  f"(z, y, x) of {' x '.join(f'{s:.2f}' for s in scan.spacing)} mm; legs "
                  f"{'/'.join(scan.split.sides)}, split by {scan.split.method}; mean uncertainty "
                  f"{scan.uncertainty_score:.3f}.", ""]
        lines += [f"- {note}" for note in (*scan.notes, scan.levels.coverage)] + [""]
        header, rows = muscle_rows(scan)
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows] + [""]
        if scan.agreement is not None:
            lines += [f"GM/GL swap check, {leg} leg: {_swap_text(a)}." for leg, a in scan.agreement.items()] + [""]
        lines += [*pose_lines(scan), ""] if scan.poses is not None else []
        lines += [f"**Flag:** {flag}" + "  " for flag in scan.flags] or ["No flags."]
        if scan.differences:
            lines += ["", "Where along the legs the flagged volumes differ most (bands of about "
                      f"{PROFILE_BAND_MM:g} mm; every band's volumes are in report.json):", ""]
            lines += [f"- {line}" for line in scan.differences]
        lines += ["", f"![{scan.scan.key}]({scan.overlay.name})", ""]
    return "\n".join(lines)


def _swap_text(agreement: LegAgreement) -> str:
    swap = agreement.swap
    verdict = "SWAPPED" if swap.swapped else "not swapped"
    return (f"GM-GM {_number(swap.gm_gm)}, GL-GL {_number(swap.gl_gl)}, predicted GM on drawn GL "
            f"{_number(swap.gm_as_gl)}, predicted GL on drawn GM {_number(swap.gl_as_gm)}: {verdict}")


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    flagged = not RATIO_RANGE[0] <= value <= RATIO_RANGE[1]
    return f"{value:.2f}{'*' if flagged else ''}"


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"
