"""ONNX Runtime sessions for the bundle's stage graphs."""
from .chain import KokoroGraphs, StageTimings
from .session import RuntimeChoice, choose_runtime, create_session

__all__ = ["KokoroGraphs", "RuntimeChoice", "StageTimings", "choose_runtime", "create_session"]
