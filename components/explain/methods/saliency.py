"""Saliency: the signed gradient d output[target] / d input at the sample.

Not its absolute value: positive means "raising this feature raises the target", and the
saliency of a linear model is exactly its weights. For text the gradient is taken at the
Embedding output, one vector per token, read per token as ``token_reduce`` says (see
`gradients`): "dot" (the default) is its dot product with the token's embedding, the
derivative of the output with respect to a weight on that token (signed; on text the same
number as Gradient × input, since one gradient at the sample is all either uses); "norm" is
its L2 norm (how sensitive the output is to that token's embedding, without a sign).
"""

from __future__ import annotations

from typing import Any

from components.explain.methods.base import Attribution, Subject
from components.explain.methods.gradients import GradientExplainer


class Saliency(GradientExplainer):
    name = "saliency"
    label = "Saliency"
    output = "sensitivity"  # d output / d input, whatever the input's own value
    defaults: dict[str, Any] = {"token_reduce": "dot"}  # text only: "dot" or "norm"

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        return self.single_pass(subject, target, seed, params, times_input=False)


EXPLAINER = Saliency()
