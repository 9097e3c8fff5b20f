"""Explanation methods: one module each, one registry that feeds the picker, CLI and tests.

`REGISTRY` maps a method's name to its explainer (see `base` for the protocol), in the order
the page shows them: the black-box methods first, then the gradient family.
"""

from __future__ import annotations

from components.explain.methods import (
    grad_x_input,
    gradcam,
    integrated_gradients,
    lime_explainer,
    saliency,
    shap_explainer,
    smoothgrad,
)
from components.explain.methods.base import DECLARED_OUTPUTS, Attribution, Explainer, Subject

REGISTRY: dict[str, Explainer] = {
    module.EXPLAINER.name: module.EXPLAINER
    for module in (lime_explainer, shap_explainer, saliency, grad_x_input,
                   integrated_gradients, smoothgrad, gradcam)
}
DECLARED_OUTPUTS.update({name: explainer.output for name, explainer in REGISTRY.items()})

__all__ = ["REGISTRY", "Attribution", "Explainer", "Subject"]
