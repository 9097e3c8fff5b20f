"""Grad-CAM: which regions of an image a convolution layer's maps use for the target.

For a conv layer with maps A (h', w', C): weights w_c = the mean over space of
d output[target] / d A_c; cam = relu(sum_c w_c A_c), resized bilinearly to the input's h x w
and repeated over its channels, so the values are shaped like the image (h, w, c) and are
never negative. Only top-level conv layers of image models qualify (Conv2D, SeparableConv2D,
DepthwiseConv2D, Conv2DTranspose with a 4-D output); the default is the last one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from components.explain.methods.base import Attribution, Stopwatch, Subject, merged_params
from components.explain.methods.gradients import (
    GradientExplainer,
    conv_layers,
    finite,
    gradcam_maps,
    gradient_unavailable,
    n_outputs,
)
from components.explain.methods.targets import check_target


class GradCam(GradientExplainer):
    name = "gradcam"
    label = "Grad-CAM"
    signed = False  # a ReLU of weighted activations: where, not which way
    # Unsigned and not additive (no reference it sums toward): where the layer looks, so it
    # is ranked with the other sensitivities, on |values|.
    output = "sensitivity"
    defaults: dict[str, Any] = {"layer": None}

    def choices(self, subject: Subject) -> dict[str, list]:
        """The picker's options: the convolution layers, last (the default) at the end."""
        return {"layer": conv_layers(subject.model) if subject.model is not None else []}

    def unavailable(self, subject: Subject) -> str | None:
        if subject.kind != "image":
            return f"Grad-CAM applies to images only; this sample is {subject.kind}"
        reason = gradient_unavailable(subject, self.label, float_input=False)
        if reason:
            return reason
        if len(np.shape(subject.x)) != 4:
            return (f"Grad-CAM needs images shaped (h, w, c); this sample is shaped "
                    f"{np.shape(subject.sample)}")
        if not conv_layers(subject.model):
            return ("Grad-CAM needs a convolutional image model; this model has no Conv2D "
                    "layer at its top level")
        return None

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        p = merged_params(self.defaults, params, self.name)
        with Stopwatch() as sw:
            reason = self.unavailable(subject)
            if reason:
                raise ValueError(reason)
            model = subject.model
            names = conv_layers(model)
            layer = names[-1] if p["layer"] in (None, "") else p["layer"]
            if layer not in names:
                raise ValueError(f"gradcam: no conv layer {layer!r}; the model's conv layers "
                                 f"are {', '.join(names)}")
            target = check_target(target, n_outputs(model))
            cam = gradcam_maps(model, subject.x, target, layer)[0]
            channels = subject.x.shape[-1]
            values = finite(np.repeat(cam[..., None], channels, axis=-1), self.name)
        return Attribution(values=values, method=self.name, target=target,
                           params={**p, "layer": layer, "seed": seed}, seconds=sw.seconds,
                           feature_names=None, extras={"layer": layer})


EXPLAINER = GradCam()
