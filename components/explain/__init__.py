"""Stage 4, explaining: the methods (`methods/`, one module each, one registry), the local
explanation service (`local`), their agreement, the dataset-wide (`global_importance`),
what-if edits, the two-model comparison and the explanations' quality checks."""
