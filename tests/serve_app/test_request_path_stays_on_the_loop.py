"""Every route's handler and every dependency it needs is asynchronous.

FastAPI runs a plain `def` dependency or handler on a worker thread, a thread hop (and at times a thread
start) on every request: two such dependencies (the replica state and the acting user) were measured as
half of a login's cost on the event loop. None of ours does blocking work, so none may be synchronous.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from serve_app.app import ROUTERS


def calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for needed in dependant.dependencies:
        yield from calls(needed)


def asynchronous(call: Any) -> bool:
    function = call if inspect.isroutine(call) else type(call).__call__  # a class instance: its __call__
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def test_no_handler_or_dependency_runs_on_a_worker_thread() -> None:
    routes = [route for router in ROUTERS for route in router.routes]
    assert len(routes) >= 40
    synchronous = {
        f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
        for route in routes
        if isinstance(route, APIRoute | APIWebSocketRoute)
        for call in calls(route.dependant)
        if not asynchronous(call)
    }
    assert not synchronous, sorted(synchronous)
