"""The HTTP server: a Starlette app over a loaded Engine, run by uvicorn (see run.serve)."""
from .app import create_app
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
