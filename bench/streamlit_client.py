"""A minimal browser-less Streamlit client: one websocket = one session, as a browser tab.

The protocol, as Streamlit 1.67's own frontend speaks it (server side:
``streamlit/web/server/starlette/starlette_websocket.py``, ``runtime/app_session.py``):

* connect to ``ws://HOST:PORT/_stcore/stream`` with the subprotocol ``streamlit``. The
  ``Sec-WebSocket-Protocol`` header is reused to carry tokens: entry 2 is the XSRF token
  (checked only to read an auth cookie: no login here, so none is sent), entry 3 an existing
  session id (a reconnecting tab; a new client sends none and gets a new session). The
  server accepts a connection without an ``Origin`` header (non-browser clients).
* every run is asked for with a ``BackMsg.rerun_script`` carrying a ``ClientState``: the
  query string (``sample=wine_classifier&row=3``, no ``?``), the widget states (none here:
  widgets keep their last values in the session, or start from their defaults), and the
  page. An ``st.navigation`` page is addressed by name on the first request: ``page_name``
  is the page's URL path (``"explain"`` for ``views/explain.py``; ``""`` is the default
  page), which the server matches against each page's ``url_pathname``. The run's
  ``ForwardMsg.navigation`` then lists every page's ``page_script_hash``; later requests
  send that hash, as the frontend does once it knows it.
* the server streams ``ForwardMsg``s: ``new_session`` (start of a run), ``delta`` (elements
  and blocks, ``exception`` elements for uncaught errors), ``page_info_changed`` (the URL
  the script set, e.g. ``st.query_params``), ``navigation``, ``session_status_changed``
  and finally ``script_finished``. ``FINISHED_EARLY_FOR_RERUN`` means the script asked for
  another run (``st.rerun``, a callback): the request is done only at
  ``FINISHED_SUCCESSFULLY`` (or a compile error).

Refuses any host that is not a loopback address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = {FINISHED.FINISHED_SUCCESSFULLY: "ok", FINISHED.FINISHED_WITH_COMPILE_ERROR:
        "compile_error", FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "ok"}


def require_loopback(url: str) -> tuple[str, int]:
    """(host, port) of an http(s)/ws(s) URL whose host is a loopback address; else ValueError."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https", "ws", "wss") or parts.port is None:
        raise ValueError(f"need a URL like http://127.0.0.1:8501, got {url!r}")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"refusing {host!r}: this client only talks to a loopback address")
    return host, parts.port


@dataclass
class RunResult:
    """What one rerun produced, as the client saw it."""

    seconds: float
    status: str  # ok | compile_error | timeout | closed
    messages: int = 0
    bytes: int = 0
    exceptions: list[str] = field(default_factory=list)  # uncaught: st.exception deltas
    errors: list[str] = field(default_factory=list)  # st.error alerts (the app's refusals)
    markdown: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # expander / st.status labels, last state
    query_string: str | None = None  # the last URL query the script set, if any
    page_script_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and not self.exceptions


class StreamlitSession:
    """One Streamlit session over one websocket. Use ``async with``; ``rerun`` per request."""

    def __init__(self, url: str, max_message_bytes: int = 64 * 2**20) -> None:
        host, port = require_loopback(url)
        self.ws_url = f"ws://{f'[{host}]' if ':' in host else host}:{port}/_stcore/stream"
        self.max_message_bytes = max_message_bytes
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.page_script_hash = ""
        self._ws = None

    async def __aenter__(self) -> StreamlitSession:
        from websockets.asyncio.client import connect

        self._ws = await connect(self.ws_url, subprotocols=["streamlit"], proxy=None,
                                 max_size=self.max_message_bytes, compression=None,
                                 open_timeout=30)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def rerun(self, query_string: str = "", page: str | None = None,
                    timeout: float = 120.0) -> RunResult:
        """Run the app for ``?query_string`` on ``page`` (its URL path; None: stay on the
        current page) and wait for the run to finish."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query_string
        if page is not None and page in self.pages:
            state.page_script_hash = self.pages[page]
        elif page is not None:
            state.page_name = page  # the first request: the server resolves the URL path
        else:
            state.page_script_hash = self.page_script_hash
        state.widget_states.SetInParent()
        started = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        result = RunResult(seconds=0.0, status="timeout")
        blocks: dict[tuple[int, ...], str] = {}
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self._ws.recv()
                    result.messages += 1
                    result.bytes += len(raw)
                    fwd = ForwardMsg()
                    fwd.ParseFromString(raw)
                    if self._read(fwd, result, blocks):
                        break
        except TimeoutError:
            result.status = "timeout"
        except Exception as err:  # the connection dropped: one error, the caller goes on
            result.status = f"closed ({type(err).__name__})"
        result.seconds = time.perf_counter() - started
        result.labels = list(blocks.values())
        result.page_script_hash = self.page_script_hash
        return result

    def _read(self, fwd: ForwardMsg, result: RunResult,
              blocks: dict[tuple[int, ...], str]) -> bool:
        """Take one ForwardMsg into ``result``; True when the requested run is over."""
        kind = fwd.WhichOneof("type")
        if kind == "new_session":
            self.page_script_hash = fwd.new_session.page_script_hash or self.page_script_hash
        elif kind == "navigation":
            self._learn_pages(fwd.navigation.app_pages)
            if fwd.navigation.page_script_hash:
                self.page_script_hash = fwd.navigation.page_script_hash
        elif kind == "page_info_changed":
            result.query_string = fwd.page_info_changed.query_string
        elif kind == "delta":
            self._read_delta(fwd, result, blocks)
        elif kind == "script_finished":
            status = DONE.get(fwd.script_finished)
            if status is not None:
                result.status = status
                return True
        return False

    def _learn_pages(self, pages) -> None:
        for page in pages:
            if page.page_script_hash:
                self.pages[page.url_pathname] = page.page_script_hash

    @staticmethod
    def _read_delta(fwd: ForwardMsg, result: RunResult,
                    blocks: dict[tuple[int, ...], str]) -> None:
        delta = fwd.delta
        which = delta.WhichOneof("type")
        if which == "add_block" and delta.add_block.WhichOneof("type") == "expandable":
            blocks[tuple(fwd.metadata.delta_path)] = delta.add_block.expandable.label
            return
        if which != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            result.errors.append(element.alert.body)
        elif kind == "markdown":
            result.markdown.append(element.markdown.body)
