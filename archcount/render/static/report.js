// The count table: sort on the numbers in data-value (not the formatted text), collapse and
// expand modules, or show the layers alone. The table works without this script: every row
// is in the page, in the order of the run.
(() => {
  "use strict";
  const table = document.getElementById("count");
  if (!table) return;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const kids = new Map([["", []]]);
  for (const row of rows) {
    const parent = row.dataset.parent || "";
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(row);
  }
  const headers = Array.from(table.tHead.rows[0].cells).filter((th) => th.dataset.sort);
  const flat = document.getElementById("flat");
  const state = { column: -1, direction: 0 };

  // BigInt: a count may pass 2^53, where Number comparisons stop being exact.
  const key = (row, column) => {
    const cell = row.cells[column];
    if (headers[column].dataset.sort === "text") return cell.textContent;
    return cell.dataset.value === "" ? null : BigInt(cell.dataset.value);
  };
  const compare = (a, b) => {
    const x = key(a, state.column), y = key(b, state.column);
    if (x === null || y === null) return (x === null) - (y === null); // unknown last
    return (x < y ? -1 : x > y ? 1 : 0) * state.direction;
  };
  const sorted = (list) => (state.direction ? [...list].sort(compare) : list);
  const tree = (parent) =>
    sorted(kids.get(parent) || []).flatMap((row) => [row, ...tree(row.id)]);
  const open = (row) => {
    const toggle = row.querySelector(".toggle");
    return !toggle || toggle.getAttribute("aria-expanded") === "true";
  };
  const shown = (row) => {
    if (flat.checked) return !row.classList.contains("group");
    for (let p = row.dataset.parent; p; p = document.getElementById(p).dataset.parent) {
      if (!open(document.getElementById(p))) return false;
    }
    return true;
  };
  const render = () => {
    const order = flat.checked
      ? sorted(rows.filter((row) => !row.classList.contains("group")))
      : tree("");
    body.replaceChildren(...order);
    for (const row of rows) row.hidden = !shown(row);
  };
  const expand = (row, value) => {
    const toggle = row.querySelector(".toggle");
    toggle.setAttribute("aria-expanded", String(value));
    toggle.textContent = value ? "▾" : "▸";
  };

  headers.forEach((th, column) => {
    th.addEventListener("click", () => {
      // numbers: largest first, then smallest, then the run's order; text: a-z, z-a, run's
      const first = th.dataset.sort === "number" ? -1 : 1;
      const next = state.column !== column ? first : state.direction === first ? -first : 0;
      state.column = column;
      state.direction = next;
      for (const other of headers) other.setAttribute("aria-sort", "none");
      const names = { 1: "ascending", "-1": "descending", 0: "none" };
      th.setAttribute("aria-sort", names[next]);
      render();
    });
  });
  body.addEventListener("click", (event) => {
    const toggle = event.target.closest(".toggle");
    if (!toggle) return;
    expand(toggle.closest("tr"), !open(toggle.closest("tr")));
    render();
  });
  for (const button of document.querySelectorAll("[data-all]")) {
    button.addEventListener("click", () => {
      for (const row of rows) if (row.classList.contains("group")) expand(row, button.dataset.all === "open");
      render();
    });
  }
  flat.addEventListener("change", render);
})();
