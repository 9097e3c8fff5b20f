"""``python -m components``: the headless face of the same engine; its JSON is a contract.

    python -m components inspect MODEL
    python -m components check MODEL DATA [--label COLUMN]
    python -m components explain MODEL DATA --row N [--methods lime,shap,...] [--target K]
                                 [--label COLUMN] [--seed S] [--params JSON] --out OUT.json
    python -m components report MODEL DATA --rows 1,5,9 [--review ID] [--methods ...]
                                [--target K] [--label COLUMN] [--task TASK] [--seed S]
                                [--workspace DIR] --out REPORT.html [--pdf REPORT.pdf]
    python -m components batch MODEL DATA --methods saliency,gradxinput,ig [--label COLUMN]
                               [--target K|predicted] [--rows A:B] [--seed S] [--params JSON]
                               --out OUT.parquet [--engine local|ray] [--address ADDR]
                               [--workers N] [--batch-size B]
    python -m components verify REPORT.html [--key PUBLIC_KEY.pem] [--fingerprint HEX]
    python -m components public-key [--workspace DIR] [--out PUBLIC_KEY.pem]

Exit 0 on success; exit 2 with one ``error: …`` line on stderr for any refused or broken
input, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from components.cli_inputs import checked_task, method_params, read_file, token_options, writable
from components.errors import MAX_MESSAGE, GlassboxError, excerpt, first_line


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep stderr for our one error line
    os.environ.setdefault("GLASSBOX_SPARE_WORKER", "0")  # one model per run: no spare worker
    os.environ.setdefault("GLASSBOX_SPARE_PARSER", "0")  # nor a spare parser
    try:
        payload = args.run(args)
    except GlassboxError as err:
        return _fail(str(err))
    except KeyboardInterrupt:  # `batch` keeps its finished parts: the same command resumes
        print("interrupted: finished parts are kept; run the same command again to continue",
              file=sys.stderr)
        return 130
    except Exception as err:  # a broken file must never surface as a traceback
        return _fail(f"could not process the input ({type(err).__name__}: "
                     f"{first_line(err)})")
    print(json.dumps(payload, indent=2))
    return 0 if not payload.get("errors") else _fail(payload["errors"][0])


def _fail(message: str) -> int:
    """One inert line: whatever the message quotes (file or column names, cell values) has
    its control and bidi characters escaped, so a name cannot split the line or rewrite the
    terminal; and the line is capped."""
    print(f"error: {excerpt(str(message).strip() or 'unknown error', MAX_MESSAGE)}",
          file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    """argparse, whose own error line ("unrecognized arguments: …" repeats argv verbatim)
    is escaped and capped like ours."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {excerpt(message, MAX_MESSAGE)}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m components",
                     description="Glassbox, headless: inspect Keras models.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    inspect = sub.add_parser("inspect", help="print a model's summary as JSON")
    inspect.add_argument("model", help="a .keras or .h5 file")
    inspect.set_defaults(run=_inspect)
    check = sub.add_parser("check", help="check a dataset against a model; JSON of the checks")
    check.add_argument("model")
    check.add_argument("data", help="CSV, Parquet, NPZ, NPY, PNG or JPEG")
    check.add_argument("--label", default=None, help="label column (default: auto-detect)")
    _token_arguments(check)
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
    explain.add_argument("--params", default=None,
                         help='each method\'s settings as JSON, e.g. '
                              '\'{"saliency": {"token_reduce": "norm"}}\'')
    _token_arguments(explain)
    explain.add_argument("--out", required=True, help="where to write the JSON")
    explain.set_defaults(run=_explain)
    report = sub.add_parser("report", help="a self-contained HTML (and PDF) report on chosen "
                                           "rows; JSON summary")
    report.add_argument("model")
    report.add_argument("data")
    report.add_argument("--rows", required=True,
                        help="comma-separated row numbers, from 0, e.g. 1,5,9")
    report.add_argument("--review", default=None,
                        help="a review's id: its verdicts, notes and audit trail go in")
    report.add_argument("--methods", default=None,
                        help="comma-separated method names (default: every method)")
    report.add_argument("--target", type=int, default=None,
                        help="output index to explain (default: each row's predicted class)")
    report.add_argument("--label", default=None, help="label column (default: auto-detect)")
    report.add_argument("--task", default=None, help="override the detected task")
    report.add_argument("--seed", type=int, default=0)
    _token_arguments(report)
    report.add_argument("--workspace", default=None,
                        help="the folder that holds the reviews (default: the app's)")
    report.add_argument("--out", required=True, help="where to write the HTML report")
    report.add_argument("--pdf", default=None, help="also print it to this PDF file")
    report.set_defaults(run=_report)
    _batch_parser(sub)
    _audit_parsers(sub)
    return parser


def _audit_parsers(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify", help="check a report's signed audit trail offline; "
                                           "JSON summary")
    verify.add_argument("report", help="a report's HTML file")
    verify.add_argument("--key", default=None,
                        help="the server's public key (PEM): the report must be signed by it")
    verify.add_argument("--fingerprint", default=None,
                        help="or the SHA-256 fingerprint of that key, 64 hex digits")
    verify.set_defaults(run=_verify)
    key = sub.add_parser("public-key", help="the public half of the key that signs audit "
                                            "trails; JSON summary")
    key.add_argument("--workspace", default=None,
                     help="the folder that holds the reviews (default: the app's)")
    key.add_argument("--out", default=None, help="also write the public key (PEM) here")
    key.set_defaults(run=_public_key)


def _batch_parser(sub: argparse._SubParsersAction) -> None:
    batch = sub.add_parser("batch", help="explain every row (or a range) into a Parquet "
                                         "file; resumable; JSON summary")
    batch.add_argument("model")
    batch.add_argument("data")
    batch.add_argument("--methods", required=True,
                       help="comma-separated method names, e.g. saliency,gradxinput,ig")
    batch.add_argument("--target", default="predicted",
                       help="output index to explain, or 'predicted' (each row's class)")
    batch.add_argument("--rows", default=None, help="a range A:B of rows (from 0, B excluded)")
    batch.add_argument("--rows-file", default=None,
                       help="explain only these rows: a text file of row numbers and A:B "
                            "ranges (commas, spaces or lines between them); lines starting "
                            "with # are comments, the first names the subset in the result")
    batch.add_argument("--label", default=None, help="label column (default: auto-detect)")
    batch.add_argument("--task", default=None, help="override the detected task")
    batch.add_argument("--seed", type=int, default=0)
    batch.add_argument("--params", default=None, help="each method's settings as JSON")
    _token_arguments(batch)
    batch.add_argument("--out", required=True, help="the Parquet file to write")
    batch.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local worker processes (default), or Ray")
    batch.add_argument("--address", default=None,
                       help="--engine ray: a Ray cluster's address (default: a local Ray)")
    batch.add_argument("--workers", type=int, default=None,
                       help="model workers (default: half this machine's cores, at most 8)")
    batch.add_argument("--batch-size", type=int, default=None,
                       help="rows per part (default: 4096 for gradient methods, 64 with "
                            "LIME, SHAP, SmoothGrad or Grad-CAM)")
    batch.set_defaults(run=_batch)


def _batch(args: argparse.Namespace) -> dict:
    from components.cli_batch import run_batch

    return run_batch(args)


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vocab", default=None,
                        help="token-id models: the vocabulary (one token per line, or JSON)")
    parser.add_argument("--mask-id", type=int, default=None,
                        help="token-id models: the id LIME and SHAP mask tokens to "
                             "(default: the padding id 0)")


def _inspect(args: argparse.Namespace) -> dict:
    from components.model.bundle import open_model

    return open_model(read_file(args.model), Path(args.model).name, isolate=True).summary.to_json()


def _check(args: argparse.Namespace) -> dict:
    from components.data.session import open_dataset
    from components.model.bundle import open_model
    from components.model.load import sha256_hex

    bundle = open_model(read_file(args.model), Path(args.model).name, isolate=True)
    data = read_file(args.data)
    ds = open_dataset(data, Path(args.data).name, bundle, args.label, isolate=True,
                      **token_options(args))
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
    from components.data.session import open_dataset
    from components.explain.local import check_methods, explain_all, explanation_json, subject_for
    from components.explain.methods import REGISTRY
    from components.model.bundle import open_model

    methods = check_methods(args.methods.split(",") if args.methods else REGISTRY)
    params = method_params(args.params)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise GlassboxError(f"cannot write {args.out}: no such folder {out.parent}")
    bundle = open_model(read_file(args.model), Path(args.model).name, isolate=True)
    dataset = open_dataset(read_file(args.data), Path(args.data).name, bundle, args.label,
                           isolate=True, **token_options(args))
    task = checked_task(bundle.summary.task, args.task, dataset.checks)
    subject = subject_for(dataset, args.row, task)
    explanation, features = bundle.runner.run(explain_all, subject, methods, args.target,
                                              args.seed, params=params)
    payload = explanation_json(bundle.loaded.sha256, args.row, features, explanation)
    out.write_text(json.dumps(payload, indent=1))
    return {"out": str(out), "methods": list(payload["methods"]),
            "skipped": payload["skipped"], "target": payload["target"]}


ROWS = re.compile(r"[ \t]*[0-9]+[ \t]*")  # ASCII digits only: int() would take "٣"


def parse_rows(text: str) -> list[int]:
    """"1,5,9" -> [1, 5, 9]: non-negative integers, comma-separated, at least one, none
    twice; anything else is a one-line `GlassboxError`."""
    parts = text.split(",")
    for part in parts:
        if not ROWS.fullmatch(part):
            what = repr(part.strip()) if part.strip() else "an empty entry"
            raise GlassboxError(f"--rows takes comma-separated row numbers such as 1,5,9; "
                                f"{what} is not a row number")
    rows = [int(p) for p in parts]
    seen: set[int] = set()
    for row in rows:
        if row in seen:
            raise GlassboxError(f"--rows lists row {row} more than once")
        seen.add(row)
    return rows


def _parse_review_id(text: str) -> int:
    if not ROWS.fullmatch(text):
        raise GlassboxError(f"--review takes a review's number, not {text!r}")
    return int(text)


def _load_review(review_id: int, workspace: str | None, model_sha: str,
                 data_sha: str) -> dict:
    """The review as plain dicts with its head's signature (`Store.signed_review`), refused
    unless it is of these very two files and its audit trail's hash chain is intact."""
    from components.review.store import Store

    store = Store(workspace or None)
    try:
        review = store.review(review_id)
        if review is None:
            raise GlassboxError(f"there is no review {review_id}"
                                + (f" in {workspace}" if workspace else ""))
        for what, theirs, ours in (("model", review.model_sha256, model_sha),
                                   ("data", review.data_sha256, data_sha)):
            if theirs != ours:
                raise GlassboxError(f"review {review_id} is of another {what} file (SHA-256 "
                                    f"{str(theirs)[:12]}…, this one is {ours[:12]}…)")
        return store.signed_review(review_id)  # a trail edited behind our back is refused
    finally:
        store.dispose()


def _record_report(review_id: int, workspace: str | None, rows: list[int],
                   methods: list[str], seed: int, numeric_sha256: str) -> None:
    """The ``report`` event the Review page's button records, by nobody signed in."""
    from components.review.store import UNAUTHENTICATED, Store

    store = Store(workspace or None)
    try:
        store.record(review_id, UNAUTHENTICATED, "report", None,
                     {"rows": sorted(rows), "methods": list(methods), "seed": seed,
                      "numeric_sha256": numeric_sha256})
    finally:
        store.dispose()


def _verify(args: argparse.Namespace) -> dict:
    from components.review.audit import verify_report
    from components.review.signing import MAX_KEY_BYTES

    key = None
    if args.key is not None:
        key_path = Path(args.key)
        if not key_path.is_file():
            raise GlassboxError(f"no such file: {args.key}")
        if key_path.stat().st_size > MAX_KEY_BYTES:
            raise GlassboxError(f"--key {args.key} is over {MAX_KEY_BYTES} bytes: not a PEM key")
        key = key_path.read_bytes()
    report = Path(args.report)
    if not report.is_file():
        raise GlassboxError(f"no such file: {args.report}")
    return verify_report(report, key, args.fingerprint)


def _public_key(args: argparse.Namespace) -> dict:
    from components.review.signing import key_path, load_or_create
    from components.review.store import default_root

    if args.workspace is not None and not Path(args.workspace).is_dir():
        raise GlassboxError(f"--workspace {args.workspace} is not a folder")
    out = None if args.out is None else writable(args.out, "--out")
    root = Path(args.workspace) if args.workspace else default_root()
    # Never created here: a key made in the wrong place would be published as the server's.
    signer = load_or_create(key_path(root.expanduser().resolve()), create=False)
    if out is not None:
        out.write_text(signer.public_pem, encoding="ascii")
    return {"fingerprint": signer.fingerprint, "algorithm": "ed25519",
            "key_file": str(signer.path), "out": None if out is None else str(out),
            "public_key": signer.public_pem}


def _report(args: argparse.Namespace) -> dict:
    import hashlib

    from components.review.pdf import find_chromium

    # Everything that can be refused without the model is refused before it loads, and
    # the cheap checks before the heavy imports: arguments, folders, Chromium, the review.
    rows = parse_rows(args.rows)
    review_id = None if args.review is None else _parse_review_id(args.review)
    if args.workspace is not None and not Path(args.workspace).is_dir():
        raise GlassboxError(f"--workspace {args.workspace} is not a folder")
    out = writable(args.out, "--out")
    pdf = None if args.pdf is None else writable(args.pdf, "--pdf")
    if pdf is not None:
        find_chromium()
    model_bytes, data_bytes = read_file(args.model), read_file(args.data)
    model_sha = hashlib.sha256(model_bytes).hexdigest()
    data_sha = hashlib.sha256(data_bytes).hexdigest()
    review = None if review_id is None else _load_review(review_id, args.workspace,
                                                          model_sha, data_sha)

    from components.data.session import open_dataset
    from components.explain.local import check_methods
    from components.explain.methods import REGISTRY
    from components.model.bundle import open_model
    from components.model.samples import sample_for_digest
    from components.review.pdf import html_to_pdf
    from components.review.report import build_report, reproduce_command
    from components.review.report_html import render_html

    methods = check_methods(args.methods.split(",") if args.methods else REGISTRY)
    bundle = open_model(model_bytes, Path(args.model).name, isolate=True)
    dataset = open_dataset(data_bytes, Path(args.data).name, bundle, args.label,
                           isolate=True, **token_options(args))
    task = checked_task(bundle.summary.task, args.task)
    sample = sample_for_digest(model_sha)  # a bundled sample's files name its classes
    command = reproduce_command(args.model, args.data, rows=rows, methods=methods,
                                seed=args.seed, task=task, target=args.target,
                                label=args.label, review=review_id, workspace=args.workspace,
                                out=args.out, pdf=args.pdf, vocab=args.vocab,
                                mask_id=args.mask_id)
    report = build_report(bundle, dataset, model_name=Path(args.model).name,
                          data_name=Path(args.data).name, data_sha256=data_sha, task=task,
                          rows=rows, methods=methods, seed=args.seed, target=args.target,
                          class_names=sample.class_names if sample else None, review=review,
                          command=command)
    page = render_html(report)
    if review_id is not None:  # the trail says a report was made, as the app's button does
        _record_report(review_id, args.workspace, rows, methods, args.seed,
                       report.numeric_sha256)
    out.write_text(page, encoding="utf-8")
    if pdf is not None:
        html_to_pdf(page, pdf)
    return {"out": str(out), "pdf": None if pdf is None else str(pdf),
            "numeric_sha256": report.numeric_sha256, "rows": rows, "methods": methods}
