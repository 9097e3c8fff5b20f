"""Stage 1, the model: a file's static scan and allowlist, loading in safe mode (here or in a
worker process), the one compiled predict path, the summary and the task.

Nothing here imports a later stage (data, inspect, explain, plots, review).
"""
