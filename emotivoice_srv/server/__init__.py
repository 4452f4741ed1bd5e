"""The HTTP server: a Starlette app over loaded model tiers, run by uvicorn (see run.serve).

Attributes are imported on first use, so ``emotivoice-srv serve`` can start loading the model
before the web stack is imported (see run.serve).
"""
from __future__ import annotations

__all__ = ["ServerConfig", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ServerConfig":
        from .config import ServerConfig

        return ServerConfig
    raise AttributeError(name)
