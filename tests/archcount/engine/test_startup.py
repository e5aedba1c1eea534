"""Start-up: counting a small model on CPU never imports torch._dynamo (~0.75 s of a run) nor
sympy (~0.7 s, for closed forms a plain count does not show).

TorchDispatchMode wraps a subclass's __torch_dispatch__ in torch._disable_dynamo unless the
class says not to; that wrapper's first call imports torch._dynamo. The route is the import
table of a fresh interpreter, not a clock.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import sys
from archcount.cli import main
sys.argv = ["archcount", "models.PoolUpsampleNet", "--nf", "4", "--size", "8"] + {extra!r}
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print(" ".join(m for m in ("torch._dynamo", "sympy") if m in sys.modules) or "clean")
"""


def _imports_dynamo(extra: list[str]) -> str:
    code = PROBE.format(extra=extra)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


def test_a_cpu_count_imports_neither_dynamo_nor_sympy():
    assert _imports_dynamo([]) == "clean"


def test_the_dispatch_layers_run_unwrapped():
    from archcount.engine.record import Recorder
    from archcount.receptive.trace import Tracer
    from archcount.training.trace import _Charge

    for mode in (Recorder, Tracer, _Charge):
        assert not hasattr(mode.__torch_dispatch__, "_torchdynamo_disable"), mode
        assert mode._should_skip_dynamo() is False
