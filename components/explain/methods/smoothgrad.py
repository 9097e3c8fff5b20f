"""SmoothGrad: the saliency averaged over noisy copies of the sample.

``samples`` copies get Gaussian noise of standard deviation ``noise`` × the value range
(max - min) of the point being differentiated: per feature over ``subject.background`` for
tabular data when a background is given (features on very different scales each get noise
on their own scale), else the sample's own range (images; tabular without background; text,
where the noise goes on the Embedding output). The noise comes from
``np.random.default_rng(seed)``: the same seed gives the same result. All copies go through
one batched gradient call. ``samples="auto"`` (the default) is 32 copies, fewer (a power of
two, at least 8) when the measured cost per gradient would not fit `budget.GRADIENT_S`.

Text reads the mean gradient per token as ``token_reduce`` says (see `gradients`): "dot"
(the default) is its dot product with the token's own (noise-free) embedding, signed; "norm"
its L2 norm.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from components.explain.methods.base import Attribution, Stopwatch, Subject, merged_params
from components.explain.methods.budget import GRADIENT_S, affordable, counts_fixed
from components.explain.methods.gradients import (
    GradientExplainer,
    applicable,
    finite,
    gradient_cost,
    gradient_space,
    token_reduce,
    token_values,
    value_range,
)
from components.explain.methods.masking import is_auto
from components.explain.methods.targets import check_target

MAX_SAMPLES = 2048
AUTO_SAMPLES = 32  # "auto": 32 copies, fewer (down to 8) when gradients are expensive


class SmoothGrad(GradientExplainer):
    name = "smoothgrad"
    label = "SmoothGrad"
    output = "sensitivity"  # a mean gradient: d output / d input, not a share of it
    defaults: dict[str, Any] = {"samples": "auto", "noise": 0.1, "token_reduce": "dot"}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        p = merged_params(self.defaults, params, self.name)
        noise = _noise(p["noise"])
        samples = None if is_auto(p["samples"]) else _samples(p["samples"])
        reduce = token_reduce(p, subject, self.name)
        with Stopwatch() as sw:
            space = gradient_space(subject, self.label)
            target = check_target(target, space.n_outputs)
            chosen: dict[str, float] = {}
            if samples is None and counts_fixed():
                samples = AUTO_SAMPLES
            elif samples is None:  # as many noisy copies as the measured cost affords
                chosen = gradient_cost(space, target, GRADIENT_S)
                samples = affordable(chosen["seconds_per_row"], GRADIENT_S, 8, AUTO_SAMPLES, 0)
            x = space.point[0].astype(np.float64)
            std = noise * _scale(subject, space.kind, x)
            rng = np.random.default_rng(seed)
            batch = x[None] + rng.standard_normal((samples, *x.shape)) * std
            _, grads = space.gradients(batch.astype(np.float32), target)
            values = finite(token_values(space, grads.mean(axis=0), reduce), self.name)
        scale = np.asarray(std, dtype=np.float64)
        noise_std = float(scale) if scale.ndim == 0 else scale.tolist()
        return Attribution(values=values, method=self.name, target=target,
                           params={**applicable(p, subject), "samples": samples,
                                   "noise": noise, "seed": seed},
                           seconds=sw.seconds, feature_names=space.feature_names,
                           extras={"noise_std": noise_std,
                                   **({"chosen_from": chosen} if chosen else {})})


def _scale(subject: Subject, kind: str, x: np.ndarray) -> np.ndarray | float:
    """The value range the noise is a fraction of: per feature for tabular with background."""
    background = subject.background
    if kind == "tabular" and background is not None and len(background) > 1:
        bg = np.asarray(background, dtype=np.float64)
        if bg.shape[1:] == x.shape:
            span = bg.max(axis=0) - bg.min(axis=0)
            fallback = value_range(x)
            return np.where(np.isfinite(span) & (span > 0), span, fallback)
    return value_range(x)


def _samples(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 1 <= int(value) <= MAX_SAMPLES:
        raise ValueError(f"smoothgrad: samples must be an integer from 1 to {MAX_SAMPLES}, "
                         f"got {value!r}")
    return int(value)


def _noise(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0 <= float(value) <= 10:
        raise ValueError(f"smoothgrad: noise must be a number from 0 to 10 (a fraction of "
                         f"the value range), got {value!r}")
    return float(value)


EXPLAINER = SmoothGrad()
