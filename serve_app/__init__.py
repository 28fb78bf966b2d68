"""The Ray Serve ingress: a FastAPI application (REST now, the WebSocket protocol next) in one deployment."""
