"""Subcommands of the ``legseg`` command line, one module each (see :mod:`legseg_core.cli`)."""
