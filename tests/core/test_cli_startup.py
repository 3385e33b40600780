"""The ``legseg`` command registers only the subcommand it runs (a cold start imports no other command)."""

from __future__ import annotations

import pytest

from legseg_core import cli


def test_a_named_subcommand_is_registered_alone_and_help_still_lists_every_command(capsys):
    assert cli.named_command(["-v", "segment", "scan.nii.gz", "-o", "out"]) == "segment"
    assert cli.named_command(["--help"]) is None and cli.named_command(["segmnet"]) is None
    parser = cli.build_parser("segment")
    commands = next(action for action in parser._actions if action.dest == "command").choices
    assert list(commands) == ["segment"]
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in cli.COMMAND_MODULES)


def test_a_mistyped_command_is_refused_with_the_full_list_of_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["segmnet", "scan.nii.gz"])
    assert exit_info.value.code == 2 and "invalid choice: 'segmnet'" in capsys.readouterr().err
