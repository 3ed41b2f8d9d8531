"""A token bucket in Redis, shared by every worker that sends as the same sender."""

from redis.asyncio import Redis

from store import keys

# Reserves ARGV[3] tokens (going negative if need be) and returns how long the caller must wait.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate) - want
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RateLimiter:
    def __init__(self, redis: Redis, sender: str, per_second: float) -> None:
        self.redis = redis
        self.key = keys.rate_bucket(sender)
        self.per_second = per_second
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, units: int) -> float:
        """Seconds to wait before sending `units` segments; 0 when there is no cap."""
        if self.per_second <= 0:
            return 0.0
        wait = await self._reserve(keys=[self.key], args=[self.per_second, self.per_second, units])
        return float(wait)
