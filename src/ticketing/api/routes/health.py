"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from ticketing.api.dependencies import Res

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(res: Res) -> JSONResponse:
    """Redis, the database and the broker all answer; 503 names the ones that do not."""
    checks = await res.readiness()
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        body = {
            "type": "urn:ticketing:problem:dependency_unavailable",
            "title": "A backing service is unavailable",
            "status": 503,
            "detail": "not ready: " + ", ".join(failed),
            "code": "DEPENDENCY_UNAVAILABLE",
            "checks": checks,
        }
        return JSONResponse(body, status_code=503, media_type="application/problem+json")
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
async def metrics(res: Res) -> Response:
    return Response(generate_latest(res.metrics.registry), media_type=CONTENT_TYPE_LATEST)
