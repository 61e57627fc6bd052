"""The benchmarks' one protocol for a variant run in its own process (so its peak RSS and
start-up are its own): the child prints one ``RESULT {json}`` line, the parent reads it."""
from __future__ import annotations

import json
import subprocess
from typing import Any

PREFIX = 'RESULT '


def report(result: dict) -> None:
    """In the child: hand ``result`` to the parent."""
    print(PREFIX + json.dumps(result), flush=True)


def run_child(cmd: list[str], name: str, **kwargs: Any) -> dict:
    """In the parent: run ``cmd`` and return its result; exit naming ``name`` (with the tails
    of its output) when it fails or reports nothing."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    lines = [x for x in done.stdout.splitlines() if x.startswith(PREFIX)]
    if done.returncode or not lines:
        raise SystemExit(f'{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}')
    return json.loads(lines[-1][len(PREFIX):])
