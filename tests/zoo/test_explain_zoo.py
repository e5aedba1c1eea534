"""assert_counts on a zoo model (GPT-2, two blocks, width E = 64, 64 tokens, vocabulary
50,257, 128 positions) with wrong numbers: the stories worked out by hand, or 'not known'.

Per block: c_attn E·3E + 3E = 12,480 weights, c_proj E² + E = 4,160, c_fc E·4E + 4E = 16,640,
mlp.c_proj 4E·E + E = 16,448; five LayerNorms of 2E = 128; wte 50,257·E, wpe 128·E = 8,192.
Connections per block: c_attn 64·64·192 = 786,432, c_proj 262,144, attention 2·64·64·64 =
524,288, c_fc and mlp.c_proj 1,048,576 each. Outputs: 131,072 in all.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))  # zoo_models beside this file

from zoo_models import build

from archcount.testing import assert_counts

WEIGHTS, CONNECTIONS, OUTPUTS = 3_324_736, 7_409_664, 131_072
BLOCKS = "the Conv1D biases (h.0.attn.c_attn, h.0.attn.c_proj, h.0.mlp.c_fc, h.0.mlp.c_proj"

CASES = [
    # the eight Conv1D biases: 2·(3E + E + 4E + E) = 1,152; no other story gives 1,152
    ("bias-out", "weights", WEIGHTS - 1_152, f"missing 1,152: {BLOCKS}", "16,384"),
    # the five LayerNorms' 2E = 640 in all
    ("norm-weights", "weights", WEIGHTS - 640, "missing 640: the LayerNorm weights (h.0.ln_1", ""),
    (
        "wrong-quantity",
        "connections",
        OUTPUTS,
        "missing 7,278,592: yours is the derived outputs, not the connections",
        "16,384",
    ),
    (
        "factor-2",
        "connections",
        2 * CONNECTIONS,
        "extra 7,409,664: every layer: yours 14,819,328, derived 7,409,664 (×2)",
        "2,097,152",
    ),
    # wpe's 8,192 = half of any of the four 16,384-weight kernels (c_fc, mlp.c_proj ×2 blocks)
    (
        "left-out",
        "weights",
        WEIGHTS - 8_192,
        "off by 8,192 (truth − yours); not known which: 5 different changes",
        None,
    ),
    # c_attn twice in either block, c_proj ×4 (3·262,144), c_proj + attention ×2 in either
    (
        "twice",
        "connections",
        CONNECTIONS + 786_432,
        "off by -786,432 (truth − yours); not known which: 6 different changes",
        None,
    ),
]


@pytest.fixture(scope="module")
def gpt2():
    model, _, kwargs = build("gpt2")
    return model, kwargs


@pytest.mark.parametrize(
    ("case", "quantity", "wrong", "said", "yours"), CASES, ids=[c[0] for c in CASES]
)
def test_assert_counts_explains_a_zoo_model(gpt2, case, quantity, wrong, said, yours):
    """The line says the story (or 'not known'); the table shows h.0.mlp.c_fc's count, and
    its value in yours (marked ✗ when the story changes it) only where one story is known."""
    model, kwargs = gpt2
    with pytest.raises(AssertionError) as failure:
        assert_counts(model, example_input=kwargs, **{quantity: wrong})
    lines = str(failure.value).splitlines()
    counted = {"weights": WEIGHTS, "connections": CONNECTIONS}[quantity]
    assert lines[1].startswith(f"  {quantity}: expected {wrong:,}, hooks count {counted:,}; ")
    assert said in lines[1], lines[1]
    assert "per layer: derived (the hooks)" in lines[2]
    (row,) = [line for line in lines if "│ h.0.mlp.c_fc " in line]
    cells = [c.strip() for c in row.split("│")[1:-1]]
    figure = {"weights": "16,640", "connections": "1,048,576"}[quantity]
    assert cells[:3] == ["h.0.mlp.c_fc", "Conv1D", figure]
    if yours is None:
        assert len(cells) == 3
    else:
        assert cells[3:] == [yours, "✗" if yours else ""]
