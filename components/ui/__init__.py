"""The only Streamlit-aware part of components: cached loaders and shared widgets."""
