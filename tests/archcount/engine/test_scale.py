"""Scale: the ~1.3B decoder counts on the meta device with memory far below its weights' bytes."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Runs in a fresh interpreter so its peak (VmHWM) is this count's alone; the baseline is taken after
# the imports (and after torch's lazy meta-kernel imports), so it measures the count itself.
CHILD = """
import json, os, sys
sys.path.insert(0, {bench!r})
import sympy, torch, torch._dynamo
import archcount
from scale_models import decoder_1_3b

def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def peak_mb():
    with open("/proc/self/status") as fh:
        return next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:")) / 1024

base = rss_mb()
# The peak restarts here: the imports' own peak is not the count's, and under memory pressure
# the kernel may drop library pages before `base` is read, which inflated ru_maxrss - base.
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
with torch.device("meta"):
    model = decoder_1_3b()
ids = torch.zeros(1, 256, dtype=torch.long, device="meta")
t = archcount.count(model, example_input=ids).totals
peak = peak_mb()
print(json.dumps({{"weights": t.weights, "unknown": list(t.unknown), "mem_mb": peak - base,
                  "connections": t.connections}}))
"""


def _decoder_weights(vocab=50257, context=1024, width=2048, depth=24) -> int:
    """Embeddings + per layer (in_proj 3E^2+3E, out_proj E^2+E, FFN 8E^2+5E, 2 norms 4E) + norm.

    The head is tied to the token embedding, so it adds nothing.
    """
    layer = 12 * width * width + 13 * width
    return vocab * width + context * width + depth * layer + 2 * width


def test_1_3b_decoder_counts_on_meta_in_flat_memory():
    code = CHILD.format(bench=str(ROOT / "bench"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    d = json.loads(done.stdout.strip().splitlines()[-1])
    assert d["weights"] == _decoder_weights() == 1_313_626_112
    assert d["unknown"] == []  # MultiheadAttention and the layers' parts all have rules
    param_bytes_mb = d["weights"] * 4 / 2**20  # ~5,000 MiB as fp32
    assert d["mem_mb"] < param_bytes_mb / 20, d["mem_mb"]
