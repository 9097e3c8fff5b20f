"""Gradient × input: the saliency times the input, element by element.

For text both factors live at the Embedding output: gradient × embedding, summed over the
embedding dimension, one value per token. For a linear model without bias this is each
feature's exact share of the output.
"""

from __future__ import annotations

from typing import Any

from components.explainers._gradients import GradientExplainer, finite, gradient_space
from components.explainers.base import Attribution, Stopwatch, Subject, merged_params
from components.explainers.targets import check_target


class GradientTimesInput(GradientExplainer):
    name = "gradxinput"
    label = "Gradient × input"
    defaults: dict[str, Any] = {}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        p = merged_params(self.defaults, params, self.name)
        with Stopwatch() as sw:
            space = gradient_space(subject, self.label)
            target = check_target(target, space.n_outputs)
            _, grads = space.gradients(space.point, target)
            values = finite(space.values(grads[0] * space.point[0]), self.name)
        return Attribution(values=values, method=self.name, target=target,
                           params={**p, "seed": seed}, seconds=sw.seconds,
                           feature_names=space.feature_names)


EXPLAINER = GradientTimesInput()
