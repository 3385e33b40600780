"""``legseg experiment het-vs-hom``: the paper's comparison of heterogeneous and homogeneous training data.

Trains each architecture on T_het and T_hom (store filters), predicts P_het and P_hom, and writes
Table 1, Table A1 and the paired t-tests as CSV and Markdown under ``--out``. On a CPU, size a
run with ``--epochs``, ``--max-train-cases`` and ``--preset``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from legseg_core.commands.common import print_json, with_progress_bar
from legseg_core.commands.train import parse_filters, parse_pairs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("experiment", help="the paper's experiments (het-vs-hom)",
                                   description="Reproduce the paper's experiments on the store's cases.")
    experiments = parser.add_subparsers(dest="experiment", metavar="NAME")
    sub = experiments.add_parser(
        "het-vs-hom", help="train on heterogeneous and homogeneous data, predict both, write Table 1 and A1",
        description="Train each architecture on T_het (all accepted train-split cases) and T_hom (the cases matching "
                    "--hom-where; default: healthy protocol-B cases of their most frequent contrast), predict P_het "
                    "(the prediction split) and P_hom (its cases matching --hom-where), and write Table 1, Table A1 "
                    "and paired t-tests as CSV and Markdown.")
    sub.add_argument("--archs", nargs="+", default=["unet"], metavar="ARCH",
                     help="architectures to compare (default: unet; the paper: unet resnet densenet)")
    sub.add_argument("--preset", default="lite", help="size preset of every architecture (default: lite)")
    sub.add_argument("--recipe", default="default", choices=("default", "paper"), help="training recipe")
    sub.add_argument("--epochs", type=int, default=None, help="epochs per model (default: the recipe's)")
    sub.add_argument("--store", metavar="PATH", default=None,
                     help="the store folder (default: $LEGSEG_STORE, else the user data folder)")
    sub.add_argument("--out", metavar="DIR", type=Path, default=Path("het-vs-hom"),
                     help="output folder for tables, report and models (default: ./het-vs-hom)")
    sub.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    sub.add_argument("--seed", type=int, default=0, help="random seed")
    sub.add_argument("--where", metavar="KEY=VALUE", action="append", default=[],
                     help="restrict every set to cases matching these store filters (repeatable)")
    sub.add_argument("--hom-where", metavar="KEY=VALUE", action="append", default=None,
                     help="the homogeneous subset's filters, e.g. --hom-where protocol=B --hom-where contrast=t2")
    sub.add_argument("--predict-split", default="test", choices=("test", "validation"),
                     help="the split predicted as P_het (default: test)")
    sub.add_argument("--max-train-cases", type=int, default=None,
                     help="train on at most this many cases per training set (a random subset)")
    for name, example in (("model", "channels=[8,16,32]"), ("recipe", "batch_size=4"),
                          ("preprocess", "patch_shape=[20,104,104]")):
        sub.add_argument(f"--{name}-option", metavar="KEY=VALUE", action="append", default=[],
                         help=f"override a {name} setting, e.g. {example}")
    sub.add_argument("--json", action="store_true", help="print the summary as JSON")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.set_defaults(handler=run_het_vs_hom)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def run_het_vs_hom(args: argparse.Namespace) -> int:
    from legseg_core.store import Store
    from legseg_core.training.experiment import ExperimentRequest, run_het_vs_hom as run_experiment
    from legseg_core.training.experiment_tables import table1_markdown, table1_rows

    from legseg_core.paths import check_output_folder

    check_output_folder(args.out, what="experiment folder")
    store = Store.open(args.store)
    request = ExperimentRequest(
        out_dir=args.out, architectures=tuple(args.archs), preset=args.preset, recipe=args.recipe, epochs=args.epochs,
        seed=args.seed, device=args.device, het_filters=parse_filters(args.where),
        hom_filters=None if args.hom_where is None else parse_filters(args.hom_where),
        predict_split=args.predict_split, max_train_cases=args.max_train_cases,
        model_options=parse_pairs(args.model_option, "--model-option"),
        recipe_options=parse_pairs(args.recipe_option, "--recipe-option"),
        preprocess=parse_pairs(args.preprocess_option, "--preprocess-option"))
    result = with_progress_bar(run_experiment(store, request), "het-vs-hom", enabled=not args.no_progress)
    rows = table1_rows(result, request.architectures)
    if args.json:
        from legseg_core.evaluation.tables import jsonable

        print_json(jsonable({"table1": rows, "files": [str(p) for p in result.files],
                             "homogeneous_filters": result.sets.hom_filters}))
        return 0
    print(table1_markdown(rows))
    print(f"tables and report written to {args.out}: " + ", ".join(p.name for p in result.files))
    return 0
