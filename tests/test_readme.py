"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_api_example_runs():
    block = re.search(r"### From Python\s+```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README lost its 'From Python' example"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert namespace["report"].totals.connections == 9_555_968
