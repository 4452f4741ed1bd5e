"""Model bundles: the manifest format and its verification."""
from .manifest import (
    PRECISIONS,
    AssetSpec,
    STAGES,
    GraphSpec,
    Manifest,
    Provenance,
    TensorSpec,
    VoiceSpec,
    read_manifest,
)
from .verify import check_sizes, sha256_file, verify_files

__all__ = [
    "PRECISIONS", "STAGES", "AssetSpec", "GraphSpec", "Manifest", "Provenance", "TensorSpec", "VoiceSpec",
    "read_manifest", "sha256_file", "verify_files", "check_sizes",
]
