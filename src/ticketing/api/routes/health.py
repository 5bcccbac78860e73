"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.responses import JSONResponse, Response

from ticketing.api.dependencies import Res
from ticketing.domain.errors import DependencyUnavailable

router = APIRouter(tags=["operations"])
# Mounted on the API port unless TICKETING_API_METRICS_PORT serves it on a port of its own.
metrics_router = APIRouter(tags=["operations"])


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


# A fixed key that nothing writes: the GET answers nil, which is all a probe needs.
REDIS_PROBE_KEY = "readyz:redis"


@router.get("/readyz/redis")
async def readyz_redis(res: Res) -> dict[str, str]:
    """Redis answers one GET: a cheap readiness probe, and the benchmark's ceiling (one Redis call per request)."""
    try:
        async with asyncio.timeout(res.settings.network_timeout_s):
            await res.redis.get(res.keys.prefix + REDIS_PROBE_KEY)
    except (TimeoutError, RedisError) as exc:
        raise DependencyUnavailable(f"not ready: redis ({type(exc).__name__})") from exc
    return {"status": "ok"}


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(res: Res) -> Response:
    return Response(generate_latest(res.metrics.registry), media_type=CONTENT_TYPE_LATEST)
