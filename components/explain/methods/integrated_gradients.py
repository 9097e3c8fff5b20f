"""Integrated Gradients: the path integral of the gradient from a baseline to the sample.

``steps="auto"`` (the default) is 64 intervals when the model's gradients are cheap, fewer
(a power of two, at least 8) when 65 gradients would not fit `budget.GRADIENT_S` at the
measured cost per gradient, and then refinement stops at that budget too; ``params`` holds
the intervals chosen and ``extras["chosen_from"]`` the cost they were chosen from.

attr_i = (x_i - b_i) * ∫_0^1 d f(b + a (x - b)) / d x_i da, computed with the trapezoid rule
on ``steps`` equal intervals of [0, 1]: all steps + 1 path points go through one batched
gradient call. The end points' outputs give the completeness check: sum(attr) should equal
f(x) - f(baseline): ``extras["completeness_error"]`` is the relative gap and
``extras["completeness_gap"]`` the absolute one (which is what to read when f(x) and
f(baseline) are nearly equal and the relative figure is noise over nothing). ReLU networks
make the integrand piecewise, so a fixed rule can miss by a few % on some samples: while the
gap is above 1 %, the intervals are halved (only the new midpoints are computed, the rule
nests) up to 8 × ``steps``; ``extras["steps_used"]`` says how many intervals were used.

Baselines: "zeros"; "mean" (the mean of ``subject.background``, tabular and image); "blur"
(images: the sample under a Gaussian blur, sigma = min(h, w) / 8); or a number (every
element equals it).

Text: the path runs in the Embedding output, from an all-zero embedding at every position
(padding positions included: the model always sees its full sequence) to the sample's
embedding. Completeness therefore holds over all positions; the values returned are the real
tokens' (summed over the embedding dimension), and ``extras["padding_attribution"]`` reports
how much of the sum fell on the padding positions that are left out.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from components.explain.methods.base import Attribution, Stopwatch, Subject, merged_params
from components.explain.methods.budget import GRADIENT_S, affordable, counts_fixed
from components.explain.methods.gradients import (
    GradientExplainer,
    GradientSpace,
    finite,
    gradient_cost,
    gradient_space,
)
from components.explain.methods.masking import is_auto
from components.explain.methods.targets import check_target

MAX_STEPS = 2048
AUTO_STEPS = 64  # "auto": 64 intervals, fewer (down to 8) when gradients are expensive
REFINE = 8  # at most this many times the requested intervals
TOLERANCE = 0.01  # refine while the completeness gap is above 1 %
ROUNDING = 1e-6  # ... and above float32 rounding of the outputs
BATCH_ELEMENTS = 1 << 22  # no refinement batch beyond ~4M numbers (~16 MB of float32)
BASELINES = ("zeros", "mean", "blur")


class IntegratedGradients(GradientExplainer):
    name = "ig"
    label = "Integrated Gradients"
    output = "contribution"  # sums to f(x) - f(baseline) (completeness)
    defaults: dict[str, Any] = {"steps": "auto", "baseline": "zeros"}

    def choices(self, subject: Subject) -> dict[str, list]:
        """The picker's baselines ("blur" is for images only)."""
        return {"baseline": [b for b in BASELINES if b != "blur" or subject.kind == "image"]}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        p = merged_params(self.defaults, params, self.name)
        steps = None if is_auto(p["steps"]) else _steps(p["steps"])
        with Stopwatch() as sw:
            space = gradient_space(subject, self.label)
            target = check_target(target, space.n_outputs)
            x = space.point[0].astype(np.float64)
            base = baseline_of(p["baseline"], subject, space)
            rows, chosen = None, {}
            if steps is None and counts_fixed():
                steps = AUTO_STEPS
            elif steps is None:  # as many path points as the measured gradient cost affords
                chosen = gradient_cost(space, target, GRADIENT_S)
                rows = int(GRADIENT_S / chosen["seconds_per_row"])
                steps = affordable(chosen["seconds_per_row"], GRADIENT_S, 8, AUTO_STEPS, 0)
            attr, f_x, f_base, used = integrate(space, x, base, target, steps, rows)
            gap = abs(float(attr.sum()) - (f_x - f_base))
            error = gap / max(abs(f_x - f_base), 1e-12)
            values = finite(space.values(attr), self.name)
        extras: dict[str, Any] = {"baseline": p["baseline"], "completeness_error": error,
                                  "completeness_gap": gap, "steps_used": used, "output": f_x,
                                  "baseline_output": f_base}
        if chosen:
            extras["chosen_from"] = chosen
        if space.kind == "text":
            extras["padding_attribution"] = space.padding_sum(attr)
        return Attribution(values=values, method=self.name, target=target,
                           params={**p, "steps": steps, "seed": seed}, seconds=sw.seconds,
                           feature_names=space.feature_names, extras=extras)


def integrate(space: GradientSpace, x: np.ndarray, base: np.ndarray, target: int,
              steps: int, max_rows: int | None = None
              ) -> tuple[np.ndarray, float, float, int]:
    """IG attributions (shaped like ``x``), f(x), f(baseline) and the intervals used.

    Trapezoid rule on ``steps`` equal intervals of [0, 1], one batched call; while the
    completeness gap is above `TOLERANCE`, the intervals are halved (only the new midpoints
    are computed) up to `REFINE` × ``steps`` intervals, as long as one batch stays under
    `BATCH_ELEMENTS` numbers and all path points under ``max_rows`` (None: no such cap).
    """
    diff = x - base

    def grads_at(alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        path = base[None] + alphas.reshape(-1, *([1] * x.ndim)) * diff[None]
        return space.gradients(path.astype(np.float32), target)

    outputs, grads = grads_at(np.linspace(0.0, 1.0, steps + 1))
    f_base, f_x = float(outputs[0]), float(outputs[-1])
    # trapezoid: h * (g_0 / 2 + g_1 + ... + g_{n-1} + g_n / 2), kept as a running sum
    total = grads.sum(axis=0) - (grads[0] + grads[-1]) / 2
    n = steps
    limit = min(REFINE * steps, MAX_STEPS)
    while True:
        attr = diff * total / n
        delta = f_x - f_base
        gap = abs(float(attr.sum()) - delta)
        # Done within 1 %, or when the gap is float32 rounding of the outputs themselves
        # (f(x) ~ f(baseline): no number of steps makes the relative error meaningful).
        if gap <= TOLERANCE * abs(delta) or gap <= ROUNDING * max(abs(f_x), abs(f_base)):
            break
        if 2 * n > limit or n * x.size > BATCH_ELEMENTS or \
                (max_rows is not None and 2 * n + 1 > max_rows):
            break
        _, mids = grads_at((np.arange(n) + 0.5) / n)
        total = total + mids.sum(axis=0)
        n *= 2
    return attr, f_x, f_base, n


def _steps(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 1 <= int(value) <= MAX_STEPS:
        raise ValueError(f"ig: steps must be an integer from 1 to {MAX_STEPS}, got {value!r}")
    return int(value)


def _keep_padding(base: np.ndarray, space: GradientSpace) -> np.ndarray:
    """``base`` with a token-id model's non-token positions set to the sample's own."""
    if space.positions is None:
        return base
    keep = np.ones(base.shape[0], dtype=bool)
    keep[space.positions] = False
    base[keep] = space.point[0][keep]
    return base


def baseline_of(baseline: Any, subject: Subject, space: GradientSpace) -> np.ndarray:
    """The baseline shaped like ``space.point[0]``, float64; ValueError if it does not apply.

    A token-id model's padding positions keep their own embedding in the baseline: the path
    moves only the sample's tokens, so padding gets no attribution and completeness holds
    over the tokens shown."""
    shape = space.point.shape[1:]
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        if not np.isfinite(float(baseline)):
            raise ValueError(f"ig: a numeric baseline must be finite, got {baseline!r}")
        return _keep_padding(np.full(shape, float(baseline)), space)
    if baseline == "zeros":
        return _keep_padding(np.zeros(shape), space)
    if baseline not in BASELINES:
        raise ValueError(f"ig: baseline must be one of {', '.join(BASELINES)} or a number, "
                         f"got {baseline!r}")
    if space.kind == "text":
        raise ValueError(f"ig: the {baseline!r} baseline does not apply to text; use 'zeros' "
                         f"(an all-zero embedding) or a number")
    if baseline == "mean":
        background = subject.background
        if background is None or len(background) == 0:
            raise ValueError("ig: the 'mean' baseline needs background samples")
        mean = np.asarray(background, dtype=np.float64).mean(axis=0)
        if mean.shape != shape:
            raise ValueError(f"ig: the background's samples are shaped {mean.shape}, the "
                             f"sample {shape}")
        return mean
    if space.kind != "image" or len(shape) != 3:
        raise ValueError("ig: the 'blur' baseline applies to images only")
    return blur(space.point[0].astype(np.float64), sigma=min(shape[:2]) / 8)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``image`` (h, w, c) over its two spatial axes (edges repeated)."""
    if sigma <= 0:
        return image.copy()
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets ** 2) / (2 * sigma ** 2))
    kernel /= kernel.sum()
    out = image
    for axis in (0, 1):
        pad = [(0, 0)] * image.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=axis)
        out = windows @ kernel
    return out


EXPLAINER = IntegratedGradients()
