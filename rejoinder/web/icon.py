"""Rejoinder's icon: ``/favicon.svg``, which every page of the server and the dashboard declares, and
``/favicon.ico``, the address browsers ask for by themselves, answered with the same file.

A file of this server like the widget's (ETag, gzip, an hour's cache): a page never loads an icon from
anywhere else.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rejoinder.web.widget import serve

router = APIRouter(include_in_schema=False)

ICON = "favicon.svg"


# ``/favicon.ico`` gets the icon itself rather than a redirect to it: browsers read an icon by its
# Content-Type, not by the address's ending, and one answer is one request less than a redirect and its
# target.
@router.api_route("/favicon.svg", methods=["GET", "HEAD"])
@router.api_route("/favicon.ico", methods=["GET", "HEAD"])
def favicon(request: Request) -> Response:
    return serve(request, ICON)
