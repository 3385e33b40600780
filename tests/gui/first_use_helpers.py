"""The first-use loop on the real scan: its right leg as a one-leg scan, its reference labels, short fine-tuning.

The real labelled calf's left leg is held out from every training (``legseg_core.synth.heldout``),
so the loop runs, as the README's real-case loop does, on the right leg cut out of the scan
(``legseg_core.starter.realcase.crop_leg``), with the reference labels mapped from the QMRITools
values by the ``qmritools-calf`` mapping as the user's correction.
"""

from __future__ import annotations

from pathlib import Path

#: `legseg finetune` settings for a 2-core test machine: one epoch of 4 steps of one 20 x 48 x 48 window (the
#: loop is tested here, not the learning: the README gives the real loop's figures with the default recipe).
FIRST_USE_FINETUNE = ("--epochs", "1", "--device", "cpu", "--threads", "1", "--recipe-option", "precision=fp32",
                      "--recipe-option", "min_epoch_steps=4", "--recipe-option", "batch_size=1",
                      "--recipe-option", "crop_shape=[20,48,48]")


def right_leg_case(real_data: Path, folder: Path) -> dict[str, Path]:
    """``scan`` (the right leg of dwi_mean) and ``labels`` (its reference, ids 0..7) written into ``folder``."""
    from legseg_core.starter.realcase import crop_leg, prepare_reference

    scan = real_data / "dwi_mean.nii.gz"
    reference = prepare_reference(scan, real_data / "labels.nii.gz", folder, mapping="qmritools-calf")["reference"]
    return crop_leg(scan, reference, folder, leg="right")


def check_unvalidated_result(result: dict, base: str, verdict_text: str) -> str:
    """The fine-tuning of a store with one accepted case: an unvalidated candidate, the reason on screen."""
    assert result.get("decision") == "unvalidated", result
    assert result["base"] == base and result["verdict"]["held_out"] is False
    candidate = result["candidate"]
    assert verdict_text.startswith(f"Not validated: {candidate} waits for your choice"), verdict_text
    assert ("not validated: the store has no accepted validation or test case; on the 1 accepted case(s) it "
            "learnt from (not held out) mean Dice") in verdict_text
    return candidate
