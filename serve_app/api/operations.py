"""Operations: /healthz, /metrics (this replica's and the cluster's) and the protocol's JSON Schema."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from serve_app.dependencies import StateDep
from serve_app.schemas import Health
from serve_app.scrape_access import check_scrape
from wire import protocol

router = APIRouter(tags=["operations"])
CLUSTER_FIGURES_TIMEOUT_S = 5.0
PROTOCOL_SCHEMA = protocol.json_schema()


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(state: StateDep) -> Health | JSONResponse:
    try:
        async with state.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse(Health(status="degraded", database="unreachable").model_dump(), status_code=503)
    return Health(status="ok", database="ok")


@router.get("/metrics", response_class=Response, responses={401: {}, 403: {}})
async def metrics(state: StateDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus text: this replica's figures, and the cluster's as the registry's last sweep found them
    (left out, with `assess_cluster_figures_available 0`, when the registry does not answer in time). With
    `ASSESS_METRICS_TOKEN` set, a scrape presents it as a bearer token; without, the server must listen on
    loopback only."""
    check_scrape(authorization, state.settings)
    cluster: dict[str, Any] | None
    try:
        cluster = await asyncio.wait_for(state.registry.metrics_snapshot.remote(), CLUSTER_FIGURES_TIMEOUT_S)
    except Exception:
        cluster = None
    return Response(state.metrics.render(cluster), media_type=CONTENT_TYPE_LATEST)


@router.get("/ws/schema.json", tags=["protocol"])
async def protocol_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every WebSocket message of protocol v1, for generating types."""
    return PROTOCOL_SCHEMA
