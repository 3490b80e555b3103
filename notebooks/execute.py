"""Runs notebooks headless, top to bottom, and reports what each cell produced.

    python3 notebooks/execute.py notebooks/*.ipynb [--out-dir DIR] [--timeout SECONDS]

Each notebook runs with this folder as its working directory (as Jupyter would) under a
kernel started from the current interpreter, so no installed kernel spec is needed. The
environment passes through: set GROUPWATCH_RUN, PREVIOUS_RUN, GROUPWATCH_CLUSTER, ... before.
With --out-dir, the executed copies (with outputs) are written there; the notebooks themselves
are never modified. Prints one JSON line per notebook: name, cells, errors, images per cell,
and the text each code cell printed. Exits 1 if any cell raised.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL = "groupwatch-python"


def kernel_dir() -> Path:
    """A kernel spec for the current interpreter, in a temporary Jupyter data folder."""
    root = Path(tempfile.mkdtemp(prefix="gw-kernel-"))
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (groupwatch notebooks)",
        "language": "python",
    }))
    return root


def summarise(nb, name: str, error: str | None) -> dict:
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text, images = [], 0
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                data = out.get("data", {})
                images += sum(1 for k in data if k.startswith("image/"))
                if "text/plain" in data and not any(k.startswith("image/") for k in data):
                    text.append(data["text/plain"])
            elif out.output_type == "error":
                text.append(f"{out.ename}: {out.evalue}")
        cells.append({"index": i, "images": images, "text": "".join(text)})
    return {"notebook": name, "code_cells": len(cells), "images": sum(c["images"] for c in cells), "error": error, "cells": cells}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--out-dir", type=Path)
    ap.add_argument("--timeout", type=int, default=600, help="seconds a cell may take")
    args = ap.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(kernel_dir()), os.environ.get("JUPYTER_PATH")]))
    failed = False
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name=KERNEL, timeout=args.timeout,
                                resources={"metadata": {"path": str(path.resolve().parent)}})
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = f"{e.ename}: {e.evalue}"
            failed = True
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.out_dir / path.name)
        print(json.dumps(summarise(nb, path.name, error)), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
