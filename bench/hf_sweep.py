"""`archcount hf:TYPE --device meta` over every transformers model type: does each count with
its default inputs, or refuse in one line saying what it needs?

Each type runs in its own forked process with a timeout and a memory limit, built small
(config fields that count layers set to 2; if that does not count, again at the config's
plain defaults). The outcome is one of: counts, refusal (exit 2, one line, no traceback),
traceback (any other exit, or more than one line), crash (a signal, or the timeout).

    python bench/hf_sweep.py /tmp/sweep.json            # every type, 2 at a time
    python bench/hf_sweep.py /tmp/sweep.json bert,t5    # only these

Each outcome is also appended to /tmp/sweep.json.jsonl as it comes; a run started again
skips the types that file already holds (a sweep takes the better part of an hour).
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from transformers import CONFIG_MAPPING
from typer.testing import CliRunner

from archcount.cli.app import app

TIMEOUT_S = 120
JOBS = 2
MEMORY = 12 * 2**30  # address space of one run, bytes
# Config fields that count layers (or blocks): set to 2 to keep a run short.
DEPTHS = (
    "num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers",
    "decoder_layers", "num_encoder_layers", "num_decoder_layers",
)  # fmt: skip


def small(model_type: str) -> list[str]:
    """--arg NAME=2 for every depth field the config has above 2."""
    try:
        config = CONFIG_MAPPING[model_type]()
    except Exception:  # a config that will not build at its defaults: the run says why
        return []
    args = []
    for name in DEPTHS:
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 2:
            args += ["--arg", f"{name}=2"]
    return args


def outcome(args: list[str]) -> dict:
    """Run `archcount ARGS` in this process: its outcome and its first line of stderr."""
    r = CliRunner().invoke(app, [*args, "--device", "meta", "--json"])
    lines = r.stderr.strip().splitlines()
    traced = "Traceback" in r.output or "Traceback" in r.stderr
    uncaught = r.exception is not None and not isinstance(r.exception, SystemExit)
    if r.exit_code == 0:
        kind = "counts"
    elif r.exit_code == 2 and len(lines) == 1 and not traced and not uncaught:
        kind = "refusal"
    else:
        kind = "traceback"
    message = lines[0] if lines else repr(r.exception)
    return {"kind": kind, "code": r.exit_code, "message": message[:400]}


def run_one(model_type: str) -> dict:
    """Small first; at the config's defaults when small does not count (the depths we set
    may not suit the config's other fields: ConvNeXt's)."""
    args = small(model_type)
    result = outcome([f"hf:{model_type}", *args])
    if result["kind"] != "counts" and args:
        result = outcome([f"hf:{model_type}"])
        result["small"] = False
    return result


def fork(model_type: str) -> tuple[int, int]:
    """(pid, read end): a child that runs one type and writes its outcome as JSON."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one run, under a memory limit, then exit without cleanup
        os.close(read)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        try:
            data = json.dumps(run_one(model_type)).encode()
        except BaseException as exc:  # the sweep records whatever happened
            data = json.dumps({"kind": "traceback", "message": repr(exc)[:400]}).encode()
        os.write(write, data)
        os._exit(0)
    os.close(write)
    return pid, read


def finish(pid: int, read: int, started: float) -> dict:
    """The child's outcome, or a crash (signal, no output) or timeout."""
    chunks = []
    while data := os.read(read, 65536):
        chunks.append(data)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if chunks:
        result = json.loads(b"".join(chunks))
    elif os.WIFSIGNALED(status):
        result = {"kind": "crash", "message": f"signal {os.WTERMSIG(status)}"}
    else:
        result = {"kind": "crash", "message": f"exit {os.WEXITSTATUS(status)}, no outcome"}
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def sweep(types: list[str], log: Path) -> dict[str, dict]:
    """Every type, JOBS at a time, each killed at TIMEOUT_S; each outcome appended to `log`."""
    results: dict[str, dict] = {}
    todo, running = list(types), {}
    while todo or running:
        while todo and len(running) < JOBS:
            t = todo.pop(0)
            pid, read = fork(t)
            running[read] = (t, pid, time.monotonic())
        ready, _, _ = select.select(list(running), [], [], 1.0)
        for read in ready:
            t, pid, started = running.pop(read)
            results[t] = finish(pid, read, started)
            _logged(log, t, results[t])
        for read, (t, pid, started) in list(running.items()):
            if time.monotonic() - started > TIMEOUT_S:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(read)
                del running[read]
                results[t] = {"kind": "crash", "message": f"timeout {TIMEOUT_S} s"}
                _logged(log, t, results[t])
    return results


def _logged(log: Path, model_type: str, result: dict) -> None:
    with log.open("a") as f:
        f.write(json.dumps({"type": model_type, **result}) + "\n")
    print(f"{model_type:40s} {result['kind']:9s} {result.get('seconds', '')}", flush=True)


def _done(log: Path) -> dict[str, dict]:
    """The outcomes an earlier run appended to `log`."""
    if not log.exists():
        return {}
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {r.pop("type"): r for r in rows}


def main(out: str, only: str = "") -> None:
    types = sorted(CONFIG_MAPPING.keys())
    if only:
        types = [t for t in types if t in only.split(",")]
    log = Path(out + ".jsonl")
    done = _done(log)
    results = {**done, **sweep([t for t in types if t not in done], log)}
    Path(out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    tally = Counter(r["kind"] for r in results.values())
    print(
        "\ntally:",
        ", ".join(f"{k} {tally[k]}" for k in ("counts", "refusal", "traceback", "crash")),
    )
    for t, r in sorted(results.items()):
        if r["kind"] in ("traceback", "crash"):
            print(f"{r['kind']:9s} hf:{t}: {r['message']}")


if __name__ == "__main__":
    main(*sys.argv[1:])
