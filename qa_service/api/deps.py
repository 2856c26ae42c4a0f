"""What routes may ask for, as ``Annotated`` aliases."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from qa_service.api.state import ServiceState
from qa_service.services import Services


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.qa
    return state


def get_services(state: Annotated[ServiceState, Depends(get_state)]) -> Services:
    if state.services is None:
        raise HTTPException(503, detail=state.error or "the service is still loading")
    return state.services


StateDep = Annotated[ServiceState, Depends(get_state)]
ServicesDep = Annotated[Services, Depends(get_services)]
