"""The training-cost tests' nets (training_nets.py) importable from this folder's tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
