"""Batch: explain every row of the dataset (or a range, or the rows the Explain page's
filters keep) in a background job, follow it, download the Parquet file; the Global page
then reads its numbers from every row."""

import streamlit as st

from components.ui import batch_widgets as ui
from components.ui.state import require_dataset, require_model, require_predictions

workspace = require_model()
st.title("Batch explanations")
dataset = require_dataset(workspace, "explain every row of it")
pred = require_predictions(workspace)
st.caption("A job runs `python -m components batch` in the background: it goes on when you "
           "leave the page or reload it, writes its rows in parts as they finish, and a "
           "stopped job resumes where it stopped. The same command runs on a Ray cluster "
           "(see the README).")
st.subheader("New job")
ui.start_ui(workspace, dataset, pred)
st.subheader("Jobs")
ui.jobs_ui(workspace)
