"""Stage 5, figures: pure builders, arrays and earlier stages' values in, Plotly figures out
(every text from a user's file escaped through `text`). `model_views` draws the model-view
pages where the model lives, so only figures travel back from a worker."""
