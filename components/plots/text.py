"""User text as Plotly label text.

Plotly.js reads a subset of HTML in every label it draws (trace text and hover text, legend
names, tick labels, titles, annotations, and whatever a hover template inserts): ``<a href>``
becomes a link, ``<b>``/``<br>``/``<span style>`` apply. Strings from the user (layer and class
names from an uploaded model, feature and column names, file names, tokens) go through
`escape` on their way into a figure so they are shown literally.
"""

from __future__ import annotations


def escape(text: object) -> str:
    """User text as Plotly label text: "&", "<", ">" as entities (shown literally).

    Only these three: Plotly decodes "&amp;", "&lt;", "&gt;" and numeric entities, but not
    "&quot;", so `html.escape` would show quotes as "&quot;".
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
