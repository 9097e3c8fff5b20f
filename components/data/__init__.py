"""Stage 2, the data: reading uploaded files, checking them against the model's input, every
row's prediction and the evaluation against the labels. Imports only `components.model`.
"""
