"""Gradient × input: the saliency times the input, element by element.

For text both factors live at the Embedding output: gradient × embedding, summed over the
embedding dimension, one value per token. For a linear model without bias this is each
feature's exact share of the output.
"""

from __future__ import annotations

from typing import Any

from components.explain.methods.base import Attribution, Subject
from components.explain.methods.gradients import GradientExplainer


class GradientTimesInput(GradientExplainer):
    name = "gradxinput"
    label = "Gradient × input"
    output = "contribution"  # the first-order share of f(x) - f(0)
    defaults: dict[str, Any] = {}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        return self.single_pass(subject, target, seed, params, times_input=True)


EXPLAINER = GradientTimesInput()
