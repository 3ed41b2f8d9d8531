"""Every Redis key name the service uses."""

PREFIX = "on"


def outage(outage_id: str) -> str:
    return f"{PREFIX}:outage:{outage_id}"


def outage_history(outage_id: str) -> str:
    return f"{PREFIX}:outage:{outage_id}:history"


def outage_by_external_id(centre: str, external_id: str) -> str:
    return f"{PREFIX}:outage-extid:{centre}:{external_id}"


def region_outages(region: str) -> str:
    """Sorted set of outage ids in a region, scored by submission time."""
    return f"{PREFIX}:region:{region}:outages"


def region_reviews(region: str) -> str:
    """Sorted set of outage ids awaiting review, scored by the publication deadline."""
    return f"{PREFIX}:region:{region}:reviews"


def api_key(secret_sha256: str) -> str:
    return f"{PREFIX}:apikey:{secret_sha256}"


def api_key_ids() -> str:
    """Hash of key id -> secret hash, for listing and revoking."""
    return f"{PREFIX}:apikeys"


def dispatch_pending() -> str:
    """Sorted set of 'outage_id/notice_id' published but not yet handed to every channel."""
    return f"{PREFIX}:dispatch:pending"


def dispatch_done(outage_id: str, notice_id: str) -> str:
    """Hash of channel -> time the notice was handed to that channel."""
    return f"{PREFIX}:dispatch:{outage_id}:{notice_id}:channels"
