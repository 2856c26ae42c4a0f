"""The chat: the page at ``/`` and the widget any intranet page adds with one script tag.

Plain files from ``qa_service/api/static`` (no build step, nothing from outside the service).
The page allows scripts and styles from the service only: never inline script, so text that
slipped into the page as HTML still could not run.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from qa_service.api.deps import StateDep

STATIC = Path(__file__).resolve().parent.parent / "static"

# The page loads widget.js and widget.css from here and calls the API here; nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on each load (ETag): an upgraded service is seen at once.
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["chat"], include_in_schema=False)


_PAGE_CHAT = '<qa-chat mode="page">'


@router.get("/")
def chat_page(state: StateDep) -> HTMLResponse:
    """The chat page: the widget's conversation, full page. When the service has API keys the
    page asks the person for one (the ``key-entry`` attribute); without keys the page is used
    from the service's own machine, which needs none."""
    page = (STATIC / "chat.html").read_text(encoding="utf-8")
    if state.access.keys is not None:
        page = page.replace(_PAGE_CHAT, '<qa-chat mode="page" key-entry>')
    headers = _HEADERS | {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    return HTMLResponse(page, headers=headers)


@router.get("/widget.js")
def widget_script() -> FileResponse:
    """The chat widget: ``<script src=".../widget.js" data-key="...">`` adds a chat button."""
    return FileResponse(STATIC / "widget.js", media_type="text/javascript", headers=_HEADERS)


@router.get("/widget.css")
def widget_styles() -> FileResponse:
    """The widget's styles, which it loads into its own shadow DOM."""
    return FileResponse(STATIC / "widget.css", media_type="text/css", headers=_HEADERS)
