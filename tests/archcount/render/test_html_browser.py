"""The HTML report in a real headless browser: numbers read back from the DOM, sorting, collapsing.

Chromium (Debian's `chromium`, or ARCHCOUNT_CHROMIUM=path) driven by playwright; one launch for
the module. Without either the tests skip, saying why, unless ARCHCOUNT_BROWSER_TESTS=required
(as .ci/run sets): then they fail. The truth is the JSON data of the same count and sums over
its layers by module path.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.records import Kind, LayerCount, Options, Report
from archcount.render.export import exported
from archcount.render.report import report_renderable

HERE = Path(__file__).parent
COUNTS = ("weights", "outputs", "connections", "connections_exact")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPT = "<script>alert(1)</script>"
ROWS_JS = """() => Array.from(document.querySelectorAll("#count tbody tr")).map((tr) => ({
  id: tr.id, parent: tr.dataset.parent || "", group: tr.classList.contains("group"),
  kind: tr.dataset.kind || "", shown: tr.offsetParent !== null,
  cells: Array.from(tr.cells).map((td) => td.textContent),
}))"""
FOOT_JS = """() => Array.from(document.querySelector("#count tfoot tr").cells)
  .map((td) => td.textContent)"""


def chromium() -> str | None:
    return os.environ.get("ARCHCOUNT_CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None
    )


def unavailable(reason: str):
    if os.environ.get("ARCHCOUNT_BROWSER_TESTS") == "required":
        pytest.fail(f"the browser tests are required here, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    path = chromium()
    if path is None:
        unavailable("no chromium executable (apt-get install chromium, or ARCHCOUNT_CHROMIUM)")
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=path, args=ARGS)
        except Error as exc:
            unavailable(f"{path} does not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page that records every request not for a file:// URL and every dialog."""
    context = browser.new_context()
    tab = context.new_page()
    tab.outside, tab.dialogs = [], []
    tab.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (tab.outside.append(route.request.url), route.abort())
        ),
    )
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    yield tab
    context.close()


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    """{name: (the --json data, the --output .html path)} of one run each."""
    folder = tmp_path_factory.mktemp("html")
    sys.path.insert(0, str(HERE))  # nets.py as a TARGET
    try:
        out = {}
        for name, args in (
            ("pun", ["models.PoolUpsampleNet", "--nic", "3", "--nf", "8"]),
            ("encoder", ["nets.Encoder", "--input-shape", "5,8"]),  # 122 rows: opens collapsed
        ):
            path = folder / f"{name}.html"
            r = CliRunner().invoke(app, [*args, "--output", str(path), "--json"])
            assert r.exit_code == 0, r.output
            out[name] = (json.loads(r.stdout), path)
        return out
    finally:
        sys.path.remove(str(HERE))


def number(text: str):
    text = text.removesuffix(" + ?")
    return None if text == "?" else int(text.replace(",", ""))


def counts_of(cells) -> tuple:
    return tuple(number(c) for c in cells[3:7])


def column(page, name: str):
    return page.locator("#count thead th[data-sort]").filter(has_text=re.compile(f"^{name}$"))


def opened(page, path) -> list[dict]:
    page.goto(path.as_uri())
    return page.evaluate(ROWS_JS)


def label(x) -> str:
    return x["name"] if x["call"] == 0 else f"{x['name']} (call {x['call'] + 1})"


def under(data, module: str) -> tuple:
    """Sums of the JSON layers in `module` (by dotted name), as the totals add: cache apart."""
    rows = [x for x in data["layers"] if x["name"].startswith(module + ".")]
    rest = [x for x in rows if x["kind"] != Kind.CACHE.value]
    return (
        sum(x["weights"] for x in rows),
        *(sum(x[q] or 0 for x in rest) for q in COUNTS[1:]),
    )


@pytest.mark.parametrize("name", ["pun", "encoder"])
def test_the_dom_holds_the_json_numbers(page, counts, name):
    data, path = counts[name]
    rows = opened(page, path)
    leaves = sorted(
        (r["cells"][0], r["kind"], *counts_of(r["cells"])) for r in rows if not r["group"]
    )
    wanted = sorted((label(x), x["kind"], *(x[q] for q in COUNTS)) for x in data["layers"])
    assert leaves == wanted
    assert counts_of(["", "", "", *page.evaluate(FOOT_JS)[1:]]) == tuple(
        data["totals"][q] for q in COUNTS
    )
    for r in rows:
        if r["group"] and "." not in r["cells"][0]:  # a top module: the JSON's sums under it
            assert counts_of(r["cells"]) == under(data, r["cells"][0].lstrip("▾▸"))
    assert page.outside == [] and page.dialogs == []


def siblings_in_order(rows, column: int, descending: bool):
    """Every parent's rows (and the top rows) follow each other in the column's order."""
    by_parent: dict[str, list] = {}
    for r in rows:
        by_parent.setdefault(r["parent"], []).append(number(r["cells"][column]))
    for parent, values in by_parent.items():
        assert values == sorted(values, reverse=descending), (parent, values)


def assert_tree_order(rows):
    """Each row comes after its parent, its parent's rows together: still a tree."""
    path = [""]  # the row ids from the top down to the last row
    for r in rows:
        while path and path[-1] != r["parent"]:
            path.pop()  # the rows under a parent are done once a row outside it comes
        assert path, f"{r['cells'][0]} is away from its parent's rows"
        path.append(r["id"])


def test_a_header_click_sorts_on_the_numbers(page, counts):
    _, path = counts["pun"]
    first = opened(page, path)
    header = column(page, "connections")
    header.click()  # largest first
    rows = page.evaluate(ROWS_JS)
    assert header.get_attribute("aria-sort") == "descending"
    siblings_in_order(rows, 5, descending=True)
    assert_tree_order(rows)
    header.click()
    siblings_in_order(page.evaluate(ROWS_JS), 5, descending=False)
    header.click()  # back to the run's order
    assert [r["id"] for r in page.evaluate(ROWS_JS)] == [r["id"] for r in first]


def test_flat_view_sorts_every_layer(page, counts):
    """Layers only: the parents hide, and a sort runs over every layer at once."""
    data, path = counts["encoder"]
    opened(page, path)
    page.locator("#flat").check()
    column(page, "weights").click()
    rows = page.evaluate(ROWS_JS)
    shown = [r for r in rows if r["shown"]]
    assert not any(r["group"] for r in shown) and len(shown) == len(data["layers"])
    values = [number(r["cells"][3]) for r in shown]
    assert values == sorted((x["weights"] for x in data["layers"]), reverse=True)


def test_collapse_hides_a_module_and_keeps_its_subtotal(page, counts):
    data, path = counts["pun"]
    opened(page, path)
    layer2 = page.locator("#count tbody tr", has_text="layer2").first
    layer2.locator(".toggle").click()
    rows = page.evaluate(ROWS_JS)
    mine = next(r for r in rows if r["cells"][0].endswith("layer2"))
    inside = [r for r in rows if r["parent"] == mine["id"]]
    assert len(inside) == 4 and not any(r["shown"] for r in inside)
    assert mine["shown"] and counts_of(mine["cells"]) == under(data, "layer2")
    assert all(r["shown"] for r in rows if r["parent"] != mine["id"])
    layer2.locator(".toggle").click()
    assert all(r["shown"] for r in page.evaluate(ROWS_JS))


def test_a_large_count_opens_at_depth_one_and_expands(page, counts):
    data, path = counts["encoder"]
    rows = opened(page, path)
    assert [r["cells"][0].lstrip("▾▸") for r in rows if r["shown"]] == ["embed", "blocks", "head"]
    page.locator("#count tbody tr", has_text="blocks").first.locator(".toggle").click()
    shown = [r["cells"][0].lstrip("▾▸") for r in page.evaluate(ROWS_JS) if r["shown"]]
    assert shown == ["embed", "blocks", *(f"blocks.{i}" for i in range(12)), "head"]
    blocks = next(r for r in page.evaluate(ROWS_JS) if r["cells"][0].endswith("blocks"))
    assert counts_of(blocks["cells"]) == under(data, "blocks")
    page.get_by_role("button", name="expand all").click()
    assert all(r["shown"] for r in page.evaluate(ROWS_JS))
    page.get_by_role("button", name="collapse all").click()
    assert sum(r["shown"] for r in page.evaluate(ROWS_JS)) == 3


def test_hostile_names_show_as_text_and_run_nothing(page, tmp_path):
    rows = (
        LayerCount("a", "Conv2d", Kind.LAYER, 0, (1, 1, 4), (1, 2, 4), 6, 0, 8, 24, 20),
        LayerCount(SCRIPT, '"><img src=x onerror=alert(2)>', Kind.UNSUPPORTED, 0, None, None,
                   0, 3, 8, None, None),
    )  # fmt: skip
    report = Report(SCRIPT, {}, (1, 1, 4), Options(), rows, (f"look: {SCRIPT}",))
    path = tmp_path / "hostile.html"
    path.write_text(exported(".html", report_renderable(report), report.to_dict()))
    got = opened(page, path)
    assert [(r["cells"][0], r["cells"][1]) for r in got][1] == (SCRIPT, rows[1].type)
    assert page.title().startswith(SCRIPT)
    assert page.dialogs == [] and page.outside == []
