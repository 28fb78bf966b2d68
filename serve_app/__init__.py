"""The Ray Serve ingress: one FastAPI deployment serving the REST API, the live WebSocket endpoints and the
candidate page."""
