"""``legseg phantom case|cohort|synthetic``: synthetic calf scans with known labels.

``legseg phantom case --out DIR`` writes one case (``<contrast>.nii.gz`` per contrast,
``labels.nii.gz``, ``metadata.json`` and, with ``--png``, a preview); ``legseg phantom cohort
--n N --out DIR --seed S`` writes N cases in sub-folders plus ``metadata.csv``, with a progress
bar; ``legseg phantom synthetic --n N --out DIR --seed S [--template-image I --template-labels L]`` writes
N contrast-agnostic training cases synthesised from label maps (phantom legs and real labelled legs,
:mod:`legseg_core.synth`). Output is reproducible from the seed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from legseg_core.commands.common import print_json, with_progress_bar
from legseg_core.paths import check_output_folder

PROTOCOL_CHOICES = ("A", "B")
SIZE_CHOICES = ("tiny", "default", "fine")
HEALTH_CHOICES = ("healthy", "patient")
LEGS_CHOICES = ("both", "right", "left")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "phantom", help="simulate synthetic calf scans with known labels",
        description="Simulate bilateral lower-leg MRI with seven labelled muscles: one case, or a cohort.")
    kinds = parser.add_subparsers(dest="phantom_command", metavar="KIND")
    _register_case(kinds)
    _register_cohort(kinds)
    _register_synthetic(kinds)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _register_case(kinds: argparse._SubParsersAction) -> None:
    case = kinds.add_parser("case", help="write one synthetic case",
                            description="Write one synthetic case: an image per contrast, labels, metadata.")
    case.add_argument("--out", required=True, help="folder to write the case into (created if missing)")
    case.add_argument("--contrast", action="append", default=None, metavar="NAME",
                      help="contrast to write (repeat or comma-separate; default: the protocol's): "
                           "t1w, pd, t2w, dixon_water, dixon_fat, dixon_in_phase, dixon_opposed_phase, diffusion")
    case.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="B",
                      help="A: whole lower leg, 90 slices; B: 25/45-slice slab below the knee (default B)")
    case.add_argument("--slices", type=int, default=None, help="slice count (default: the protocol's)")
    case.add_argument("--health", choices=HEALTH_CHOICES, default="healthy", help="default healthy")
    case.add_argument("--diagnosis", default=None,
                      help="for a patient: pompe, mcardle, ibm, dm1, dm2, lgmd or other (default: random)")
    case.add_argument("--legs", choices=LEGS_CHOICES, default="both", help="both legs or one (default both)")
    case.add_argument("--size", choices=SIZE_CHOICES, default="default", help="grid size preset (default)")
    case.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    case.add_argument("--knee-mm", type=float, default=0.0, metavar="MM",
                      help="protocol A: reach MM mm above the tibial plateau, over the knee joint (0 to 150; "
                           "default 0: end just below the plateau)")
    case.add_argument("--foot-mm", type=float, default=0.0, metavar="MM",
                      help="protocol A: start MM mm below the ankle joint, over the heel and the midfoot (0 to 80; "
                           "default 0: start just above the joint)")
    case.add_argument("--randomize-intensity", action="store_true",
                      help="domain randomisation: random tissue intensities, gamma, inversion, blur, bias")
    case.add_argument("--png", action="store_true", help="also write preview.png (middle slice, labels overlaid)")
    case.add_argument("--json", action="store_true", help="print the case metadata and paths as JSON")
    case.set_defaults(handler=run_case)


def _register_cohort(kinds: argparse._SubParsersAction) -> None:
    cohort = kinds.add_parser("cohort", help="write a cohort of synthetic cases and metadata.csv",
                              description="Write N synthetic cases (mixed protocols, contrasts, health) and "
                                          "a metadata.csv, with a progress bar.")
    cohort.add_argument("--n", type=int, required=True, help="number of cases")
    cohort.add_argument("--out", required=True, help="folder for the cohort (created if missing)")
    cohort.add_argument("--seed", type=int, required=True, help="random seed of the cohort")
    cohort.add_argument("--mix", default="",
                        help="weights, e.g. 'protocol=A:1,B:1;health=healthy:2,patient:1;legs=both:1;"
                             "slices=25:1,45:1;size=tiny;contrasts_a=t1w|pd+t2w;contrasts_b=dixon_water+dixon_fat;"
                             "randomize=no'")
    cohort.add_argument("--size", choices=SIZE_CHOICES, default=None, help="grid size preset (overrides --mix)")
    cohort.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    cohort.add_argument("--json", action="store_true", help="print the cohort summary as JSON")
    cohort.set_defaults(handler=run_cohort)


def _register_synthetic(kinds: argparse._SubParsersAction) -> None:
    synthetic = kinds.add_parser(
        "synthetic", help="write training cases synthesised from label maps (phantom and real labelled legs)",
        description="Write N training cases synthesised from leg label maps: whole phantom legs (a pool of "
                    "templates) and, with --template-image/--template-labels, one leg of a real labelled "
                    "bilateral scan. Each case deforms its legs, draws an intensity per tissue and muscle "
                    "from a contrast prior or at random, and acquires them on a random protocol grid. The "
                    "held-out leg of the project's labelled real case is refused.")
    synthetic.add_argument("--n", type=int, required=True, help="number of cases")
    synthetic.add_argument("--out", required=True, help="folder for the cases and metadata.csv (created if missing)")
    synthetic.add_argument("--seed", type=int, required=True, help="random seed of the cohort")
    synthetic.add_argument("--template-image", action="append", default=[], metavar="SCAN",
                           help="a real bilateral scan whose labelled leg becomes a template (repeatable, "
                                "paired with --template-labels in order)")
    synthetic.add_argument("--template-labels", action="append", default=[], metavar="LABELS",
                           help="the label map of the matching --template-image, on its grid; the other tissues "
                                "are read off the image, the in-plane grid refined threefold, and the unlabelled "
                                "gaps between muscles and the skin thinned to one fine voxel")
    synthetic.add_argument("--template-mapping", default=None,
                           help="map the template labels to ids 1..7 first (e.g. qmritools-calf)")
    synthetic.add_argument("--template-leg", choices=("right", "left"), default="right",
                           help="which leg of each template scan to use (default right)")
    synthetic.add_argument("--real-share", type=float, default=0.4,
                           help="share of the legs drawn from real templates when any are given (default 0.4)")
    synthetic.add_argument("--phantom-templates", type=int, default=24,
                           help="whole phantom legs in the template pool (default 24)")
    synthetic.add_argument("--knee-mm", type=float, default=0.0, metavar="MM",
                           help="each phantom template reaches a random 0 to MM mm above the tibial plateau, over "
                                "the knee joint (femoral condyles, patella, the popliteal fossa, the thigh's muscles "
                                "as background, the gastrocnemius heads up to their origins), as whole-leg scans "
                                "often do; at most 150 (default 0: the templates end at the plateau)")
    synthetic.add_argument("--foot-mm", type=float, default=0.0, metavar="MM",
                           help="each phantom template starts a random 0 to MM mm below the ankle joint, over the "
                                "heel and the midfoot (talus, calcaneus, the midfoot's bones, the tendons around the "
                                "ankle, the foot's own muscles as background), as scans from the heel do; at most 80 "
                                "(default 0: the templates start at the ankle joint)")
    synthetic.add_argument("--streaks", type=float, default=0.0, metavar="P",
                           help="chance of thin fatty streaks inside the muscles (default 0)")
    synthetic.add_argument("--boundary-lines", type=float, default=0.0, metavar="P",
                           help="chance of dark lines where tissues meet, as fascia and the water-fat "
                                "cancellation of opposed-phase images draw them (default 0)")
    synthetic.add_argument("--faint-septa", type=float, default=0.0, metavar="P",
                           help="chance that the septa between muscles are almost as bright as muscle, as in "
                                "images whose voxels are far wider than a septum (default 0)")
    synthetic.add_argument("--alike-muscles", type=float, default=0.0, metavar="P",
                           help="chance that all muscles of a case share one brightness (a few percent "
                                "apart), as in most healthy calves (default 0)")
    synthetic.add_argument("--muscle-resize", type=float, default=0.0, metavar="R",
                           help="scale each muscle of each leg on its own by 1 +/- up to R (0.2: areas 0.64 to "
                                "1.44 times), neighbours pushed aside, so that muscle proportions vary between "
                                "legs (default 0)")
    synthetic.add_argument("--local-shading", type=float, default=0.0, metavar="P",
                           help="chance of a shading that changes the brightness within a leg over a few centimetres "
                                "(control points 40 mm apart, up to about -40%% to +65%%), as receive coils, B1 "
                                "inhomogeneity and echo-planar signal loss draw it, on top of the bias field across "
                                "the field of view (default 0)")
    synthetic.add_argument("--compartments", type=float, default=0.0, metavar="P",
                           help="chance that some muscles are split along an internal tendon sheet into two parts of "
                                "different brightness (up to exp(+-0.4)), often with the sheet drawn as a dark line "
                                "that ends inside the muscle, as pennate muscles such as TA show (default 0)")
    synthetic.add_argument("--blur", type=float, default=0.8, metavar="VOXELS",
                           help="largest in-plane blur (Gaussian sigma in voxels, drawn from 0 to it), as echo-planar "
                                "(diffusion) images and zero-filled reconstructions show; above 1 a septum one voxel wide "
                                "all but disappears (default 0.8)")
    synthetic.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    synthetic.add_argument("--json", action="store_true", help="print the cohort summary as JSON")
    synthetic.set_defaults(handler=run_synthetic)


def run_synthetic(args: argparse.Namespace) -> int:
    from legseg_core.errors import InputPathError
    from legseg_core.phantom import PhantomParameterError
    from legseg_core.phantom.validation import MAX_FOOT_MM, MAX_KNEE_MM
    from legseg_core.synth import SynthesisSettings, SyntheticMix, generate_synthetic_cohort
    from legseg_core.synth.templates import load_template_files

    if len(args.template_image) != len(args.template_labels):
        raise InputPathError(f"{len(args.template_image)} --template-image but {len(args.template_labels)} "
                             "--template-labels; give one label map per template scan")
    templates = tuple(load_template_files(image, labels, leg=args.template_leg, mapping=args.template_mapping)
                      for image, labels in zip(args.template_image, args.template_labels))
    for name in ("streaks", "boundary_lines", "faint_septa", "alike_muscles", "local_shading", "compartments"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise PhantomParameterError(f"--{name.replace('_', '-')} {getattr(args, name)!r} must be a chance in 0..1")
    for flag, value, most, where in (("--knee-mm", args.knee_mm, MAX_KNEE_MM, "above the tibial plateau"),
                                     ("--foot-mm", args.foot_mm, MAX_FOOT_MM, "below the ankle joint")):
        if not 0.0 <= value <= most:
            raise PhantomParameterError(f"{flag} {value!r} must lie in 0..{most:g} mm {where}")
    if not 0.0 <= args.blur <= 3.0:
        raise PhantomParameterError(f"--blur {args.blur!r} must lie in 0..3 voxels")
    if not 0.0 <= args.muscle_resize <= 0.4:
        raise PhantomParameterError(f"--muscle-resize {args.muscle_resize!r} must lie in 0..0.4 (a larger change "
                                    "folds the anatomy)")
    settings = SynthesisSettings(streak_probability=args.streaks, boundary_line_probability=args.boundary_lines,
                                 faint_septum_probability=args.faint_septa,
                                 alike_muscle_probability=args.alike_muscles, muscle_resize=args.muscle_resize,
                                 blur_voxels=(0.0, args.blur), local_shading_probability=args.local_shading,
                                 compartment_probability=args.compartments)
    mix = SyntheticMix(real_share=args.real_share, phantom_templates=args.phantom_templates, knee_mm=args.knee_mm,
                       foot_mm=args.foot_mm, settings=settings)
    check_output_folder(args.out, inputs=[*args.template_image, *args.template_labels], what="cohort folder")
    work = generate_synthetic_cohort(args.n, args.out, args.seed, real_templates=templates, mix=mix)
    cases = with_progress_bar(work, "synthetic cohort", enabled=not args.no_progress and not args.json)
    summary = {"cases": len(cases), "out": str(args.out), "metadata_csv": str(Path(args.out) / "metadata.csv"),
               "contrasts": _count(c["contrast"][0] for c in cases), "legs": _count(c["legs"] for c in cases),
               "health": _count(c["health"] for c in cases),
               "templates": _count(name for c in cases for name in c["templates"])}
    if args.json:
        print_json(summary)
        return 0
    print(f"{summary['cases']} cases in {summary['out']} (metadata: {summary['metadata_csv']})")
    for key in ("contrasts", "legs", "health"):
        print(f"{key:>10}: " + ", ".join(f"{name} {count}" for name, count in summary[key].items()))
    return 0


def _contrasts(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(c.strip() for value in values for c in value.split(",") if c.strip())


def run_case(args: argparse.Namespace) -> int:
    from legseg_core.phantom import make_case
    from legseg_core.phantom.render import render_case_png

    check_output_folder(args.out, what="case folder")
    case = make_case(seed=args.seed, protocol=args.protocol, slices=args.slices, contrasts=_contrasts(args.contrast),
                     health=args.health, diagnosis=args.diagnosis, legs=args.legs, size=args.size,
                     randomize_intensity=args.randomize_intensity, knee_mm=args.knee_mm, foot_mm=args.foot_mm)
    paths = case.save(args.out)
    if args.png:
        paths["preview"] = render_case_png(case, Path(args.out) / "preview.png")
    if args.json:
        print_json({"metadata": case.metadata, "paths": {k: str(p) for k, p in paths.items()}})
        return 0
    meta = case.metadata
    print(f"case {meta['case_id']}: protocol {meta['protocol']}, {meta['slices']} slices, shape {meta['shape']}, "
          f"voxel {meta['voxel_size_mm']} mm, {meta['health']}{_diagnosis(meta)}")
    for name, path in paths.items():
        print(f"{name:>20}: {path}")
    return 0


def _diagnosis(meta: dict[str, Any]) -> str:
    return f" ({meta['diagnosis']})" if meta.get("diagnosis") else ""


def run_cohort(args: argparse.Namespace) -> int:
    from legseg_core.phantom import CohortMix, generate_cohort

    mix = CohortMix.parse(args.mix)
    if args.size is not None:
        mix = CohortMix.parse(f"size={args.size}", base=mix)
    check_output_folder(args.out, what="cohort folder")
    work = generate_cohort(args.n, args.out, seed=args.seed, mix=mix)
    cases = with_progress_bar(work, "phantom cohort", enabled=not args.no_progress and not args.json)
    summary = summarize(cases, Path(args.out))
    if args.json:
        print_json(summary)
        return 0
    print(f"{summary['cases']} cases in {summary['out']} (metadata: {summary['metadata_csv']})")
    for key in ("protocols", "health", "diagnoses", "contrasts", "legs"):
        print(f"{key:>10}: " + ", ".join(f"{name} {count}" for name, count in summary[key].items()))
    return 0


def _count(values) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def summarize(cases: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Counts of a written cohort by protocol, health, diagnosis, contrast and legs."""
    count = _count
    return {"cases": len(cases), "out": str(out), "metadata_csv": str(out / "metadata.csv"),
            "protocols": count(c["protocol"] for c in cases), "health": count(c["health"] for c in cases),
            "diagnoses": count(c["diagnosis"] for c in cases if c["diagnosis"]),
            "contrasts": count(name for c in cases for name in c["contrasts"]),
            "legs": count(c["legs"] for c in cases)}
