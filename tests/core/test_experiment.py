"""``legseg experiment het-vs-hom`` on a tiny mixed store: the four sets, Table 1, Table A1, t-tests."""

from __future__ import annotations

import csv
import json

import pytest

from legseg_core.cli import main
from legseg_core.errors import TrainingError
from legseg_core.store import SplitConfig, Store
from legseg_core.training.experiment import ExperimentRequest, default_hom_filters, select_sets
from tests.core.test_train_store import TINY_MODEL, TINY_PREPROCESS, add_phantom_cases


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store.init(tmp_path_factory.mktemp("experiment") / "store", splits=SplitConfig(0.5, 0.25, 0.25))
    add_phantom_cases(store, range(100, 108), protocol="A", health="patient")
    add_phantom_cases(store, range(200, 208), protocol="B", health="healthy")
    return store


def test_default_homogeneous_set_is_healthy_protocol_b_in_one_contrast(store, tmp_path):
    assert default_hom_filters(store) == {"health": "healthy", "protocol": "B", "contrast": "dixon_water"}
    sets = select_sets(store, ExperimentRequest(out_dir=tmp_path))
    hom_cases = {c.id for c in store.cases(protocol="B")}
    assert {e.case_id for e in sets.train["T_hom"]} <= hom_cases
    assert len(sets.train["T_het"]) > len(sets.train["T_hom"]) >= 2
    assert set(sets.predict_hom_ids) <= {e.case_id for e in sets.predict_het}
    assert set(sets.predict_hom_ids) == {c.id for c in store.accepted_cases(split="test", protocol="B")}


def test_empty_sets_are_refused(store, tmp_path):
    with pytest.raises(TrainingError, match="the T_hom set of the store .* is empty"):
        select_sets(store, ExperimentRequest(out_dir=tmp_path, hom_filters={"contrast": "t2"}))


def test_cli_writes_table_1_table_a1_and_paired_tests(store, tmp_path, capsys):
    out = tmp_path / "result"
    options = [f"--model-option={k}={json.dumps(v)}" for k, v in TINY_MODEL.items()]
    options += [f"--preprocess-option={k}={json.dumps(v)}" for k, v in TINY_PREPROCESS.items()]
    status = main(["experiment", "het-vs-hom", "--store", str(store.root), "--out", str(out), "--archs", "unet",
                   "resnet", "--epochs", "1", "--device", "cpu", "--recipe-option", "precision=fp32",
                   "--recipe-option", "batch_size=2", "--no-progress", *options])
    assert status == 0
    assert "| training | architecture | Dice P_hom | Dice P_het |" in capsys.readouterr().out
    with open(out / "table1.csv", newline="") as handle:
        table1 = list(csv.DictReader(handle))
    assert [(r["training"], r["architecture"]) for r in table1] == [
        ("T_hom", "unet"), ("T_hom", "resnet"), ("T_het", "unet"), ("T_het", "resnet")]
    assert 0.0 <= float(table1[0]["dice_P_het_mean"]) <= 1.0 and int(table1[0]["dice_P_hom_n"]) >= 2
    with open(out / "tableA1.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 4 * 7
    with open(out / "ttests.csv", newline="") as handle:
        scenarios = {row["scenario"] for row in csv.DictReader(handle)}
    assert {"T_het/P_het", "T_hom/P_hom", "unet on P_hom", "resnet on P_het"} <= scenarios
    report = (out / "report.md").read_text()
    assert "## Table 1" in report and "## Table A1" in report and "t(" in report
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "T_het-resnet.pt", "T_het-unet.pt", "T_hom-resnet.pt", "T_hom-unet.pt"]
