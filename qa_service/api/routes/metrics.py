"""``GET /metrics``: the service's counts and timings in Prometheus' text format
(``qa_service.core.metrics``).

Refusals by reason and feedback over every caller are not for every key holder: the metrics
are shown to a request made on the service's own machine (a Prometheus beside it; not one
passed on by a proxy) and to an ``admin`` key.
"""

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from qa_service.api.auth import AccessDeniedError, from_this_machine
from qa_service.api.deps import StateDep
from qa_service.core.keys import Role
from qa_service.core.metrics import exposition

ADMINS_ONLY = "the metrics are for admin keys, or requests made on the service's own machine"

router = APIRouter(tags=["metrics"], include_in_schema=False)


def metrics_reader(state: StateDep, request: Request) -> None:
    """Lets through a request from this machine or with an admin key; a 401 without a valid
    key, a 403 with a key of another role."""
    client = request.client.host if request.client else None
    if from_this_machine(client, request.headers):
        return
    try:
        caller = state.access.caller(client, request.headers)
    except AccessDeniedError as denied:
        headers = {"WWW-Authenticate": "Bearer"} if denied.status_code == 401 else None
        raise HTTPException(denied.status_code, detail=denied.detail, headers=headers) from None
    if not caller.role.allows(Role.ADMIN):
        raise HTTPException(403, detail=ADMINS_ONLY)


@router.get("/metrics", dependencies=[Depends(metrics_reader)])
def metrics(request: Request) -> Response:
    """Requests, answers, refusals, feedback and ingests, for Prometheus."""
    body, content_type = exposition(request.headers.get("accept", ""))
    return Response(body, media_type=content_type)
