"""The Ray Serve deployment of the ingress: one FastAPI app per replica, settings passed in at bind time."""

from __future__ import annotations

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from config.settings import Settings
from serve_app.app import create_app
from wire.socket_compression import decline_permessage_deflate

# Serve counts an open WebSocket as one ongoing request: a replica must accept every socket of a node's
# candidates at once, with room for their reconnects, monitors and REST (5,000 filled up exactly with the
# 5,000 candidates of bench/soak.py). Past the limit Serve answers a new socket 503.
MAX_ONGOING_REQUESTS = 20_000


@serve.deployment(
    name="Ingress",
    max_ongoing_requests=MAX_ONGOING_REQUESTS,
    num_replicas=1,
    logging_config={"enable_access_log": False},
)
@serve.ingress()
class Ingress:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        decline_permessage_deflate()  # before Serve starts this replica's direct-ingress server

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self._settings)


def build_application(settings: Settings) -> Application:
    return Ingress.bind(settings)  # type: ignore[attr-defined]  # added by @serve.deployment


def app_builder(args: dict[str, str]) -> Application:
    """Entry point for `serve run` / `serve deploy` config files: settings come from the environment."""
    return build_application(Settings(**args))  # type: ignore[arg-type]
