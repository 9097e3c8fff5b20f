"""AppTest on the whole app: the router, its sidebar and the default page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def new_app(timeout: float = 120) -> AppTest:
    """A fresh simulated session of the whole app (router, sidebar, default page)."""
    return AppTest.from_file(APP, default_timeout=timeout)


def selected(at: AppTest, element: Any, selection: dict) -> AppTest:
    """Run ``at`` as after a click that selects ``selection`` (e.g. ``{"rows": [5]}`` in a
    table, ``{"points": [{"customdata": [42]}]}`` on a chart) in ``element`` (a keyed
    dataframe or chart with ``on_select``).

    AppTest has no click for these: the selection goes in as the element's widget state,
    which is what the browser sends, so the element's ``on_select`` callback runs, and any
    fragment-only rerun it asks for, as in the app. (Through AppTest's private ``_tree`` and
    ``_run``: its public ``run`` sends only the widgets it knows.)
    """
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = element.proto.id
    state.string_value = json.dumps({"selection": selection})
    return at._run(states)


def clicked(at: AppTest, element: Any, value: dict) -> AppTest:
    """Run ``at`` as after a click on the kept chart ``element`` (`components.ui.kept_chart`,
    e.g. the sample map): ``value`` is what its JavaScript sends, ``{"points": [...]}``.

    The click goes in as the component's trigger, as the browser sends it, so the chart's
    ``on_click`` callback runs (through AppTest's private ``_tree`` and ``_run``, as in
    `selected`).
    """
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    from components.ui.kept_chart import CLICK

    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(element.proto.id, "events")
    state.json_trigger_value = json.dumps([{"event": CLICK, "value": value}])
    return at._run(states)
