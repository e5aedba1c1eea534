"""Tables fit the console: numbers whole, labels shortened only in the middle of their dotted
path and still unique, checked against a brute-force enumeration of every shortening."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archcount.render.fit import FitTable, shortened


def rendered(table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False, color_system=None).print(table)
    return out.getvalue()


def elisions(label: str) -> set[str]:
    """By brute force: `label` with any run of dotted parts but the last one replaced by '…'."""
    indent = label[: len(label) - len(label.lstrip(" "))]
    path, _, rest = label.strip().partition(" ")
    rest = " " + rest if rest else ""
    parts = path.split(".")
    out = set()
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            out.add(indent + ".".join(parts[:i]) + "…" + ".".join(parts[j:]) + rest)
    return {x for x in out if len(x) < len(label)}


part = st.sampled_from(["h", "0", "1", "attn", "mlp", "c_proj", "layers", "0–11", "q_proj"])
path = st.lists(part, min_size=1, max_size=5).map(".".join)
label = st.tuples(st.integers(0, 3), path, st.sampled_from(["", " ×12", " (aten.add ×2)"])).map(
    lambda t: "  " * t[0] + t[1] + t[2]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(label, min_size=1, max_size=12, unique_by=str.strip), st.integers(1, 40))
def test_short_labels_are_unique_middle_elisions(labels, budget):
    short = shortened(labels, budget)
    assert len({s.strip() for s in short}) == len(short)  # each still names one row
    every = [elisions(x) for x in labels]
    for original, s, mine in zip(labels, short, every):
        others = {x.strip() for o, e in zip(labels, every) if o != original for x in e | {o}}
        assert s == original or (s in mine and s.strip() not in others)
        fitting = {x for x in mine if len(x) <= budget and x.strip() not in others}
        if len(original) > budget and fitting:
            assert len(s) <= budget  # a unique form that fits was there: one is used
        if len(original) <= budget:
            assert s == original  # nothing shortened that fits already


def test_a_name_that_needs_its_middle_keeps_it():
    labels = [f"layers.{i}.self_attn.q_proj" for i in range(12)]
    short = shortened(labels, 16)
    assert short[3] == "layers.3…q_proj"  # the block index is what tells them apart
    assert len(set(short)) == 12


def wide_table(cls=Table, **kw) -> Table:
    table = cls(title="t", show_footer=True, **kw)
    table.add_column("layer", footer="total", overflow="fold")
    table.add_column("type", overflow="fold")
    for header in ("weights", "connections"):
        table.add_column(header, footer="123,456,789,012", justify="right", no_wrap=True)
    for i in range(3):
        table.add_row(f"encoder.blocks.{i}.attention.out_proj", "Linear", "1,234,567", "9" * 11)
    return table


def test_a_table_that_fits_is_drawn_as_a_plain_table():
    fit = wide_table(FitTable, droppable=("type",))
    assert rendered(fit, 150) == rendered(wide_table(), 150)


def test_a_narrow_console_drops_then_shortens_and_never_cuts_a_number():
    out = rendered(wide_table(FitTable, droppable=("type",)), 60)
    lines = out.splitlines()
    assert max(len(x) for x in lines) <= 60
    assert "Linear" not in out and "type column left out to fit 60 columns" in out
    assert out.count("123,456,789,012") == 2 and out.count("99999999999") == 3
    labels = [x.split()[0] for x in lines if x.startswith("encoder")]
    assert labels == [f"encoder…{i}.attention.out_proj" for i in range(3)] or labels == [
        f"encoder.blocks.{i}…out_proj" for i in range(3)
    ]
    assert "… stands for parts of a dotted name left out" in " ".join(out.split())


def test_markup_in_a_cell_of_a_fitted_table_stays_literal():
    table = FitTable(droppable=("type",))
    table.add_column("layer", overflow="fold")
    table.add_column("type")
    table.add_column("n", justify="right", no_wrap=True)
    table.add_row(Text("[bold]a.b.c.d.e.f.g:llama:[/]"), "T", "1,000,000,000,000")
    out = rendered(table, 40)
    assert "…f.g:llama:[/]  T     1,000,000,000,000" in out and "🦙" not in out
