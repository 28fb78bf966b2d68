"""Sockets without permessage-deflate: the ingress's uvicorn servers decline the compression extension.

Browsers and `websockets` clients offer permessage-deflate on every socket, and uvicorn accepts it by
default: each socket then holds a zlib compressor and decompressor (about 34 KiB when it opens, growing
to about 48 KiB as frames fill the window), and every frame is compressed on one side and inflated on the
other. Our frames are a few hundred bytes of JSON, so compression saves little traffic, while at 5,000
sockets it cost the ingress about 240 MiB, a growth of 66-85 MiB over a 10-minute soak, and the CPU of a
deflate and an inflate per frame (measured in docs/robustness.md, "Sockets without compression").

Ray Serve starts uvicorn itself (the direct-ingress server of each replica, and the proxy actor's) with
uvicorn's defaults and no option for this, so the ingress changes the default of the process it runs in
before Serve starts its server there. Declining is part of the protocol: RFC 6455 lets a server accept a
socket without any of the extensions a client offers, and every client keeps working uncompressed.
"""

from __future__ import annotations

import functools
from typing import Any

import uvicorn

_DECLINING = "_declines_permessage_deflate"


def decline_permessage_deflate() -> None:
    """Every uvicorn server this process configures from now on accepts sockets without compression."""
    configure = uvicorn.Config.__init__
    if getattr(configure, _DECLINING, False):
        return

    @functools.wraps(configure)
    def configure_without_deflate(config: uvicorn.Config, *args: Any, **options: Any) -> None:
        configure(config, *args, **{**options, "ws_per_message_deflate": False})

    setattr(configure_without_deflate, _DECLINING, True)
    uvicorn.Config.__init__ = configure_without_deflate  # type: ignore[method-assign, assignment]
