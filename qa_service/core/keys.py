"""API keys: who may call the service, which documents they may read, what else they may do.

The keys file (``QA_API_KEYS_FILE``) holds only each key's sha256: a copy of the file lets
nobody in. ``KeysFile`` is what ``qa keys`` edits; ``KeyRing`` is what the server checks keys
against, re-reading the file whenever it changes, so a key added or revoked counts at once.

>>> import tempfile
>>> keys = KeysFile(Path(tempfile.mkdtemp()) / "keys.json")
>>> secret = keys.add("widget", groups=("public",))
>>> ring = KeyRing(keys.path)
>>> ring.authenticate(secret)
Caller(name='widget', groups=('public',), role=<Role.READER: 'reader'>)
>>> keys.revoke("widget")
>>> ring.authenticate(secret) is None
True
"""

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from qa_service.core.files import exclusive, write_atomically
from qa_service.core.schema import parse_groups

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A key is this prefix and 32 random bytes: the prefix lets secret scanners and people tell
# what a leaked string is.
KEY_PREFIX = "qa_"


class KeysFileError(ValueError):
    """The keys file cannot be read or does not say what a keys file says."""


class Role(StrEnum):
    """What a key may do besides reading: each role may do all that the ones before it may.

    ``reader`` asks questions and reads documents; ``editor`` also adds and deletes documents;
    ``admin`` also manages the service (its keys, its audit trail).
    """

    READER = "reader"
    EDITOR = "editor"
    ADMIN = "admin"

    def allows(self, needed: "Role") -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key's name, the groups whose documents it may read (``None``: every
    document, for a caller on this machine when no keys are configured), and its role."""

    name: str
    groups: tuple[str, ...] | None
    role: Role

    def narrowed(self, requested: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The groups a search runs with when the caller asks for ``requested`` (``None``: as
        many as it may): never more than the caller's own.

        >>> Caller("k", ("a", "b"), Role.READER).narrowed(("b", "c"))
        ('b',)
        """
        if requested is None:
            return self.groups
        if self.groups is None:
            return requested
        return tuple(group for group in requested if group in self.groups)


@dataclass(frozen=True)
class ApiKey:
    """One entry of the keys file."""

    name: str
    key_sha256: str
    groups: tuple[str, ...]
    role: Role = Role.READER

    def caller(self) -> Caller:
        return Caller(self.name, self.groups, self.role)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key_sha256": self.key_sha256,
            "groups": list(self.groups),
            "role": self.role.value,
        }


def digest(key: str) -> str:
    """The sha256 (hex) a key is stored and compared as."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeysFile:
    """The keys file as ``qa keys`` edits it: ``{"keys": [{"name", "key_sha256", "groups",
    "role"}]}``. Edits hold a lock beside the file and replace it whole (readers see the old
    file or the new one), readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[ApiKey]:
        """The keys in the file; ``KeysFileError`` saying what is wrong with it."""
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise KeysFileError(
                f"the API keys file {self.path} does not exist: `qa keys add` creates it"
            ) from None
        except (OSError, ValueError) as error:
            raise KeysFileError(f"the API keys file {self.path} cannot be read: {error}") from None
        return _parse_keys(data, self.path)

    def add(self, name: str, groups: tuple[str, ...], role: Role = Role.READER) -> str:
        """A new key named ``name``; returns the key itself, which is stored nowhere."""
        if not KEY_NAME.match(name):
            raise KeysFileError(
                f"key name {name!r} is not allowed: use letters, digits, '_', '.', '-' (max 64)"
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._editing() as keys:
            if any(entry.name == name for entry in keys):
                raise KeysFileError(f"a key named {name!r} exists: revoke it first")
            keys.append(ApiKey(name, digest(key), parse_groups(",".join(groups)), role))
        return key

    def revoke(self, name: str) -> None:
        with self._editing() as keys:
            kept = [entry for entry in keys if entry.name != name]
            if len(kept) == len(keys):
                raise KeysFileError(f"no key named {name!r}")
            keys[:] = kept

    @contextlib.contextmanager
    def _editing(self) -> Iterator[list[ApiKey]]:
        """The keys of the file, to change in place; written back if the block ends well."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(self.path.with_name(f".{self.path.name}.lock")):
            keys = self.read() if self.path.exists() else []
            yield keys
            text = json.dumps({"keys": [entry.as_json() for entry in keys]}, indent=2) + "\n"
            write_atomically(self.path, text.encode())
            # Digests only, but nobody else needs to read them.
            self.path.chmod(0o600)


class KeyRing:
    """Checks keys against the keys file, read again whenever it changed (its inode, size or
    times): no restart is needed after ``qa keys add`` or ``revoke``.

    A file that is gone or unreadable lets no key in (``KeysFileError``) rather than the keys
    it held before: a revocation must never be undone by a damaged file.
    """

    def __init__(self, path: Path) -> None:
        self.file = KeysFile(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, ...] | None = None
        self._keys: list[ApiKey] = []
        self._error: KeysFileError | None = None

    def authenticate(self, key: str) -> Caller | None:
        """The caller ``key`` belongs to, or ``None``. Every stored digest is compared, in
        constant time, whichever matches: the time taken says nothing about the keys."""
        presented = digest(key).encode()
        found: ApiKey | None = None
        for entry in self.keys():
            if hmac.compare_digest(presented, entry.key_sha256.encode()):
                found = entry
        return found.caller() if found is not None else None

    def keys(self) -> list[ApiKey]:
        """The keys as the file holds them now; ``KeysFileError`` if it cannot be read."""
        with self._lock:
            try:
                status = self.file.path.stat()
                seen = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
            except OSError:
                seen = None
            if seen is None or seen != self._seen:
                self._reload(seen)
            if self._error is not None:
                raise self._error
            return self._keys

    def _reload(self, seen: tuple[int, ...] | None) -> None:
        self._seen = seen
        try:
            self._keys, self._error = self.file.read(), None
        except KeysFileError as error:
            self._keys, self._error = [], error


def _parse_keys(data: Any, path: Path) -> list[ApiKey]:
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise KeysFileError(f"the API keys file {path} has no list of keys")
    keys: list[ApiKey] = []
    for number, entry in enumerate(entries, start=1):
        try:
            name, hashed, groups = entry["name"], entry["key_sha256"], entry["groups"]
            role = Role(entry.get("role", Role.READER))
            if not (isinstance(name, str) and isinstance(hashed, str) and isinstance(groups, list)):
                raise TypeError("name and key_sha256 are strings, groups a list")
            if not re.fullmatch(r"[0-9a-f]{64}", hashed):
                raise ValueError("key_sha256 is not 64 lowercase hex digits")
            keys.append(ApiKey(name, hashed, parse_groups(",".join(map(str, groups))), role))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise KeysFileError(f"the API keys file {path}: key {number}: {error}") from None
    return keys
