"""`count --time`'s table follows the count's summary depth, shallower where its own rows
(runs of identical blocks are not merged there) would pass a screen."""

from typer.testing import CliRunner

from archcount.cli.app import app

DEEP = """
from torch import nn


def deep():
    def block():
        return nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU())

    return nn.Sequential(*(block() for _ in range(40)))
"""


def labels(table: str) -> list[str]:
    """The first cell of every body row of a drawn table."""
    return [x.split("│")[1].strip() for x in table.splitlines() if x.startswith("│")]


def test_the_time_table_fits_a_screen_where_the_count_does(tmp_path, monkeypatch):
    (tmp_path / "deep_net.py").write_text(DEEP)
    monkeypatch.chdir(tmp_path)  # a TARGET in the working folder
    args = ["deep_net:deep", "--input-shape", "2,8,8", "--time", "--hardware", "h100-sxm"]
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(tmp_path)}
    out = CliRunner().invoke(app, args, env=env)
    assert out.exit_code == 0, out.output
    count, time = out.stdout.split("predicted time at batch 1, forward")
    # 40 blocks of 3 layers: 120 rows; the count merges the blocks into one run at depth 2
    assert "modules to depth 2 (4 rows for 120 layer calls)" in count
    # the time table has no runs: at depth 2 it would be 120 rows, so it shows the 40 blocks
    assert labels(time) == [str(i) for i in range(40)] + ["total"]
