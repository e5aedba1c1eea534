"""The one exception type for faults a user of the training harness can cause."""


class TrainError(Exception):
    """Bad data, palette, options or run directory: the CLI prints it as one line, exit 2."""
