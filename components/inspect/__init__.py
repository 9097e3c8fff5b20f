"""Stage 3, inspecting the model: its layer graph, a layer's details, weights, training
history, the overview of model and data, and the dataset's 2-D map."""
