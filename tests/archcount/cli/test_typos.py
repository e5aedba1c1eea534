"""The option suggestions' cut-off, over every option of every command: a dropped or doubled
letter finds the option meant; --filters finds nothing (difflib's default took it for --fit)."""

from __future__ import annotations

import pytest
import typer

from archcount.cli.app import app
from archcount.cli.group import similar_options
from train.cli import app as train_app

GROUPS = {"archcount": typer.main.get_command(app), "train": typer.main.get_command(train_app)}


def _contexts():
    for name, group in GROUPS.items():
        yield name, group, group.make_context(name, [], resilient_parsing=True)
        for sub, command in group.commands.items():
            yield f"{name} {sub}", command, command.make_context(sub, [], resilient_parsing=True)


CONTEXTS = list(_contexts())


def _long_options(command) -> list[str]:
    return [o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]


@pytest.mark.parametrize(("where", "command", "ctx"), CONTEXTS, ids=[c[0] for c in CONTEXTS])
def test_a_dropped_or_doubled_letter_finds_the_option(where, command, ctx):
    options = _long_options(command)
    assert options, where
    for option in options:
        if len(option) < 5:  # '--lr': one letter of two left is no longer alike (2/3 < 0.75)
            continue
        for typo in (option[:-1], option + option[-1], option[:3] + option[4:]):
            if typo not in options:
                assert option in similar_options(typo, ctx), (where, typo)


def test_filters_finds_nothing_in_count():
    count = GROUPS["archcount"].commands["count"]
    ctx = count.make_context("count", ["x"], resilient_parsing=True)
    assert "--fit" in _long_options(count)
    assert similar_options("--filters", ctx) == []
    assert similar_options("--nff", ctx) == ["--nf"]
