"""The wire of the live endpoints: every frame a client and the server exchange, as pydantic models
(`protocol`), and how the sockets that carry them are negotiated (`socket_compression`). The ingress
(serve_app) and the actors both import it; it imports neither."""
