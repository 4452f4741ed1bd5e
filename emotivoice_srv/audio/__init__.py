"""Audio encoding: float32 PCM -> files and bytes."""
from .encode import FORMATS, encode, write_file

__all__ = ["FORMATS", "encode", "write_file"]
