"""Who is calling: API keys -> a tenant (and whether it is an admin), decided once per request.

``--api-keys`` entries are ``tenant:key`` or a bare ``key`` (its own tenant, named ``key-`` + 12 hex
digits of the key's sha256, so the key itself never appears in a store key or a log line).
``--admin-keys`` entries (same forms) also authenticate and see and manage every tenant's voices,
addressing another tenant's voice as ``<tenant>:<id>``. Without any key the server is single-tenant:
every caller is the ``default`` tenant.

A presented key is hashed and compared with every configured key's hash by ``hmac.compare_digest``,
always all of them, so the time taken says nothing about which key (or how much of one) matched.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ..cloning.store import DEFAULT_TENANT, TENANT_PATTERN

SCOPE_KEY = "emotivoice.principal"


@dataclass(frozen=True)
class Principal:
    tenant: str
    admin: bool = False


SINGLE_TENANT = Principal(DEFAULT_TENANT, admin=False)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_entry(entry: str, setting: str) -> tuple[str, str]:
    """``tenant:key`` -> (tenant, key); a bare key -> (its derived tenant, key)."""
    tenant, sep, key = entry.partition(":")
    if not sep:
        return "key-" + hashlib.sha256(entry.encode()).hexdigest()[:12], entry
    if not TENANT_PATTERN.match(tenant):
        raise ValueError(f"{setting}: tenant {tenant!r} must be lower-case letters, digits, '_' or '-' "
                         "(at most 64), as in 'acme:KEY'")
    if not key:
        raise ValueError(f"{setting}: the entry for tenant {tenant!r} has no key after ':'")
    return tenant, key


@dataclass(frozen=True)
class KeyRing:
    entries: tuple[tuple[bytes, Principal], ...] = ()

    @classmethod
    def parse(cls, api_keys: tuple[str, ...], admin_keys: tuple[str, ...] = ()) -> KeyRing:
        """ValueError (naming the setting) for an entry that cannot be a key or a key given to two tenants."""
        found: dict[bytes, Principal] = {}
        for entries, admin, setting in ((api_keys, False, "--api-keys / EMOTIVOICE_API_KEYS"),
                                        (admin_keys, True, "--admin-keys / EMOTIVOICE_ADMIN_KEYS")):
            for entry in entries:
                tenant, key = parse_entry(entry, setting)
                digest = _digest(key)
                previous = found.get(digest)
                if previous is not None and previous.tenant != tenant:
                    raise ValueError(f"{setting}: one key is given to tenants {previous.tenant!r} and {tenant!r}")
                found[digest] = Principal(tenant, admin or (previous is not None and previous.admin))
        return cls(tuple(found.items()))

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    def identify(self, token: str) -> Principal | None:
        """The principal of a presented key, or None; compares against every key, in constant time."""
        given = _digest(token)
        match = None
        for digest, principal in self.entries:
            if hmac.compare_digest(given, digest) and match is None:
                match = principal
        return match
