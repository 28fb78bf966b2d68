"""The FastAPI application of the ingress, built per replica from the settings passed into it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from config.heap import settle_after_startup
from config.logs import configure_logging
from config.settings import Settings
from domain.errors import Conflict
from persistence import users
from serve_app import chat, live, monitor
from serve_app.api import (
    analytics,
    assessments,
    audit,
    auth,
    candidate,
    invitations,
    operations,
    organizations,
    parameter_sets,
    passwords,
    results,
    skills,
    web,
)
from serve_app.api import users as users_api
from serve_app.errors import install_error_handlers
from serve_app.login_gate import LoginGate
from serve_app.middleware import BodySizeLimit, RequestMetrics
from serve_app.state import ReplicaState

logger = logging.getLogger(__name__)

ROUTERS = tuple(
    module.router
    for module in (
        auth, passwords, users_api, organizations, assessments, invitations, skills, candidate, results,
        parameter_sets, audit, operations, analytics, web, live, chat, monitor,
    )
)  # fmt: skip


async def bootstrap_admin(state: ReplicaState) -> None:
    settings = state.settings
    try:
        async with state.database.transaction() as session:
            await users.ensure_admin(
                session, email=settings.admin_email, password=settings.admin_password.get_secret_value()
            )
    except Conflict:
        pass  # another replica created it at the same moment


def create_app(settings: Settings) -> FastAPI:
    configure_logging()
    state = ReplicaState.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await bootstrap_admin(state)
        await state.registry.start.remote()
        state.start_reporting()
        state.revocations.follow(state.registry)
        settle_after_startup()
        yield
        await state.close()

    app = FastAPI(
        title="Assess",
        summary="Live, adaptive multiple-choice assessments for hiring, on Ray",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.replica = state
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodySizeLimit)
    login_route = next(
        route for route in auth.router.routes if isinstance(route, APIRoute) and route.name == "issue_token"
    )
    app.add_middleware(
        LoginGate,
        throttle=state.login_throttle,
        trusted_proxies=settings.trusted_proxies,
        failure_delay_s=settings.login_failure_delay_s,
        login_route=login_route,
    )
    # A front end served from another allowed origin calls the REST API with a bearer header, not cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST", "PATCH"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.add_middleware(RequestMetrics, metrics=state.metrics)  # outermost: a login's wait at the gate counts
    return app
