"""The plugin's dock widgets (Qt); everything they compute comes from legseg_core."""
