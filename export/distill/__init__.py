"""Distillation of the main bundle into a light fallback student (``python -m export.distill``).

corpus (teacher renders, recorded) -> train (PyTorch student, checkpointed) -> export (TorchScript +
ONNX stage graphs into a fallback bundle). Needs the ``train`` extra (torch); the server never does.
"""
