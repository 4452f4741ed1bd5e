"""A genuinely small file system for full-disk tests: a size-limited tmpfs mounted on a directory.

Mounting needs root (or passwordless sudo); without either the test fails with this message rather than
pretending: a directory that only claims to be full would prove nothing about ENOSPC handling."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def _sudo() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    raise RuntimeError("the full-disk test mounts a small tmpfs and needs root or passwordless sudo "
                       "(run the suite as root, e.g. in the CI container)")


def mount_tmpfs(directory: Path, size_bytes: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([*_sudo(), "mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0777", "tmpfs", str(directory)],
                   check=True)


def unmount(directory: Path) -> None:
    subprocess.run([*_sudo(), "umount", "-l", str(directory)], check=False)


def fill(directory: Path, name: str = "filler") -> Path:
    """Write zeros until the file system refuses more (ENOSPC): it is then full for everyone."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return path
