"""`python -m train`."""

from train.cli import app

app()
