"""Stage 6, review: the workspace store with its hash-chained audit trail, the compliance
report (content, then HTML and PDF) and spreadsheet-safe CSV export."""
