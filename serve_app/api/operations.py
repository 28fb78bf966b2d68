"""Operations: /healthz, /metrics, and the connection analytics the live ingress fills in."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from serve_app.dependencies import AdminUser, StateDep
from serve_app.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(state: StateDep) -> Health | JSONResponse:
    try:
        async with state.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse(Health(status="degraded", database="unreachable").model_dump(), status_code=503)
    return Health(status="ok", database="ok")


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/analytics/connections", tags=["analytics"])
async def connections(_: AdminUser) -> list[dict[str, object]]:
    # Open WebSocket connections; the REST-only ingress has none until the live path is deployed.
    return []
