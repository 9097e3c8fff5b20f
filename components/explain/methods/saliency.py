"""Saliency: the signed gradient d output[target] / d input at the sample.

Not its absolute value: positive means "raising this feature raises the target", and the
saliency of a linear model is exactly its weights. For text the gradient is taken at the
Embedding output and summed over the embedding dimension, one value per token.
"""

from __future__ import annotations

from typing import Any

from components.explain.methods.base import Attribution, Subject
from components.explain.methods.gradients import GradientExplainer


class Saliency(GradientExplainer):
    name = "saliency"
    label = "Saliency"
    defaults: dict[str, Any] = {}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        return self.single_pass(subject, target, seed, params, times_input=False)


EXPLAINER = Saliency()
