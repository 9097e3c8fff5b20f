"""What the CLI's commands share to read their arguments: files, token options, --params,
an output path. One line (`GlassboxError`) for anything wrong, as every command answers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from components.errors import GlassboxError


def token_options(args: argparse.Namespace) -> dict:
    """The ``vocab`` and ``mask_id`` keywords of `open_dataset`, the file parsed bounded."""
    from components.data.tokens import read_vocabulary
    from components.model.bounded import run_bounded

    vocab = None
    if args.vocab is not None:
        vocab = run_bounded(read_vocabulary, read_file(args.vocab), Path(args.vocab).name,
                            what="the vocabulary")
    return {"vocab": vocab, "mask_id": args.mask_id}


def read_file(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise GlassboxError(f"no such file: {path}")
    return p.read_bytes()


def method_params(text: str | None) -> dict[str, dict]:
    """``--params``: a JSON object of method name -> {setting: value}; GlassboxError else."""
    from components.explain.methods import REGISTRY

    try:
        value = json.loads(text) if text else {}
    except ValueError as err:
        raise GlassboxError(f"--params is not JSON: {err}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise GlassboxError('--params must be a JSON object of method -> settings, e.g. '
                            '{"saliency": {"token_reduce": "norm"}}')
    unknown = sorted(set(value) - set(REGISTRY))
    if unknown:
        raise GlassboxError(f"--params names unknown method(s) {', '.join(unknown)}; "
                            f"expected some of {', '.join(REGISTRY)}")
    return value


def writable(path: str, flag: str) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise GlassboxError(f"cannot write {flag} {path}: no such folder {out.parent}")
    return out


def checked_task(detected: str, override: str | None, checks: tuple = ()) -> str:
    """The task to explain for (``--task`` over the detected one), once the dataset's
    ``checks`` hold no error; else the first error (or the bad task name) as one line."""
    from components.model.task import resolve_task

    errors = [c.message for c in checks if c.level == "error"]
    if errors:
        raise GlassboxError(errors[0])
    try:
        return resolve_task(detected, override)
    except ValueError as err:
        raise GlassboxError(str(err)) from None
