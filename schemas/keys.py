"""API keys of dispatch centres."""

from datetime import datetime

import msgspec

from schemas.kinds import Role
from schemas.outage import Actor


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    name: str
    centre: str
    region: str
    roles: frozenset[Role]
    created_at: datetime
    # sha256 of the secret: keys are 256-bit random tokens, so a slow password hash buys nothing.
    secret_sha256: str
    revoked: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(key_id=self.key_id, name=self.name, centre=self.centre)
