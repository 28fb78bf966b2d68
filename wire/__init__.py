"""The wire protocol of the live endpoints: every frame a client and the server exchange, as pydantic
models. The ingress (serve_app) and the actors both import it; it imports neither."""
