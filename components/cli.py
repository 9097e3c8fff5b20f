"""``python -m components``: the headless face of the same engine; its JSON is a contract.

    python -m components inspect MODEL
    python -m components check MODEL DATA [--label COLUMN]
    python -m components explain MODEL DATA --row N [--methods lime,shap,...] [--target K]
                                 [--label COLUMN] [--seed S] --out OUT.json

Exit 0 on success; exit 2 with one ``error: …`` line on stderr for any refused or broken
input, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from components.errors import GlassboxError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep stderr for our one error line
    os.environ.setdefault("GLASSBOX_SPARE_WORKER", "0")  # one model per run: no spare worker
    try:
        payload = args.run(args)
    except GlassboxError as err:
        return _fail(str(err))
    except Exception as err:  # a broken file must never surface as a traceback
        return _fail(f"could not process the input ({type(err).__name__}: {err})")
    print(json.dumps(payload, indent=2))
    return 0 if not payload.get("errors") else _fail(payload["errors"][0])


def _fail(message: str) -> int:
    first = (message.strip().splitlines() or ["unknown error"])[0]
    print(f"error: {first}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m components",
                                     description="Glassbox, headless: inspect Keras models.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    inspect = sub.add_parser("inspect", help="print a model's summary as JSON")
    inspect.add_argument("model", help="a .keras or .h5 file")
    inspect.set_defaults(run=_inspect)
    check = sub.add_parser("check", help="check a dataset against a model; JSON of the checks")
    check.add_argument("model")
    check.add_argument("data", help="CSV, Parquet, NPZ, NPY, PNG or JPEG")
    check.add_argument("--label", default=None, help="label column (default: auto-detect)")
    check.set_defaults(run=_check)
    explain = sub.add_parser("explain", help="explain one row with several methods; JSON out")
    explain.add_argument("model")
    explain.add_argument("data")
    explain.add_argument("--row", type=int, required=True, help="row number, from 0")
    explain.add_argument("--methods", default=None,
                         help="comma-separated method names (default: every method)")
    explain.add_argument("--target", type=int, default=None,
                         help="output index to explain (default: the predicted class)")
    explain.add_argument("--label", default=None, help="label column (default: auto-detect)")
    explain.add_argument("--task", default=None, help="override the detected task")
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument("--out", required=True, help="where to write the JSON")
    explain.set_defaults(run=_explain)
    return parser


def _read(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise GlassboxError(f"no such file: {path}")
    return p.read_bytes()


def _inspect(args: argparse.Namespace) -> dict:
    from components.workspace import open_model

    return open_model(_read(args.model), Path(args.model).name, isolate=True).summary.to_json()


def _check(args: argparse.Namespace) -> dict:
    from components.model_io import sha256_hex
    from components.workspace import open_dataset, open_model

    bundle = open_model(_read(args.model), Path(args.model).name, isolate=True)
    data = _read(args.data)
    ds = open_dataset(data, Path(args.data).name, bundle, args.label)
    return {
        "model_sha256": bundle.loaded.sha256,
        "data_sha256": sha256_hex(data),
        "kind": ds.kind,
        "rows": ds.n_rows,
        "label": ds.label_name,
        "features": ds.feature_names,
        "checks": [{"level": c.level, "message": c.message} for c in ds.checks],
        "errors": [c.message for c in ds.checks if c.level == "error"],
    }


def _explain(args: argparse.Namespace) -> dict:
    from components.explain_view import check_methods, explanation_json, subject_for
    from components.explainers import REGISTRY
    from components.model_ops import explain_all
    from components.task import resolve_task
    from components.workspace import open_dataset, open_model

    methods = check_methods(args.methods.split(",") if args.methods else REGISTRY)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise GlassboxError(f"cannot write {args.out}: no such folder {out.parent}")
    bundle = open_model(_read(args.model), Path(args.model).name, isolate=True)
    dataset = open_dataset(_read(args.data), Path(args.data).name, bundle, args.label)
    errors = [c.message for c in dataset.checks if c.level == "error"]
    if errors:
        raise GlassboxError(errors[0])
    try:
        task = resolve_task(bundle.summary.task, args.task)
    except ValueError as err:
        raise GlassboxError(str(err)) from None
    subject = subject_for(None, dataset, args.row, None, task)
    explanation, features = bundle.runner.run(explain_all, subject, methods, args.target,
                                              args.seed)
    payload = explanation_json(bundle.loaded.sha256, args.row, features, explanation)
    out.write_text(json.dumps(payload, indent=1))
    return {"out": str(out), "methods": list(payload["methods"]),
            "skipped": payload["skipped"], "target": payload["target"]}
