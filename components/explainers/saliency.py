"""Saliency: the signed gradient d output[target] / d input at the sample.

Not its absolute value: positive means "raising this feature raises the target", and the
saliency of a linear model is exactly its weights. For text the gradient is taken at the
Embedding output and summed over the embedding dimension, one value per token.
"""

from __future__ import annotations

from typing import Any

from components.explainers._gradients import GradientExplainer, finite, gradient_space
from components.explainers.base import Attribution, Stopwatch, Subject, merged_params
from components.explainers.targets import check_target


class Saliency(GradientExplainer):
    name = "saliency"
    label = "Saliency"
    defaults: dict[str, Any] = {}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        p = merged_params(self.defaults, params, self.name)
        with Stopwatch() as sw:
            space = gradient_space(subject, self.label)
            target = check_target(target, space.n_outputs)
            _, grads = space.gradients(space.point, target)
            values = finite(space.values(grads[0]), self.name)
        return Attribution(values=values, method=self.name, target=target,
                           params={**p, "seed": seed}, seconds=sw.seconds,
                           feature_names=space.feature_names)


EXPLAINER = Saliency()
