"""Every column of the table sums to its total, and each row's JSON `ops` add up to the row,
under both conventions, on GPT-2 (whose attention keeps a KV cache: its copies are in no
column, only in its own `cache_copies`). Hand route: the sums themselves."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))  # zoo_models beside this file

from zoo_models import build

import archcount
from archcount.records import Kind
from archcount.render.report import report_table

COLUMNS = ("weights", "outputs", "connections", "connections_exact")


@pytest.mark.parametrize("convention", ["units", "modules"])
def test_gpt2_columns_sum_to_their_totals_and_ops_to_their_rows(convention):
    model, args, kwargs = build("gpt2", "meta")
    r = archcount.count(model, example_input=args or None, example_kwargs=kwargs,
                        convention=convention)  # fmt: skip
    d = r.to_dict()
    for column in COLUMNS:
        assert sum(row[column] for row in d["layers"]) == d["totals"][column], column
    for row in d["layers"]:
        if row["ops"]:
            assert sum(op["connections"] for op in row["ops"]) == row["connections"], row["name"]
    cache = [x for x in r.layers if x.kind is Kind.CACHE]
    assert len(cache) == 2  # one per block
    assert all((x.outputs, x.connections, x.connections_exact) == (0, 0, 0) for x in cache)
    # by hand: each block keeps its keys and values, 64 positions x 64 channels each
    assert r.totals.cache_copies == sum(x.cache_copies for x in cache) == 2 * 2 * 64 * 64
    labels = [str(c) for c in report_table(r).columns[1]._cells]
    assert labels.count("aten.cat (cache: 8,192 copies)") == 2
