"""A token bucket in Redis, shared by every worker that sends as the same sender."""

from redis.asyncio import Redis

from store import keys

# Reserves ARGV[3] tokens (going negative if need be) and returns how long the caller must wait.
# The time is Redis's own, so workers on machines with drifting clocks share one bucket; ARGV[4]
# replaces it where a caller (a test) must fix the time.
_RESERVE = """
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
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
    def __init__(self, redis: Redis, channel: str, sender: str, per_second: float) -> None:
        self.redis = redis
        self.key = keys.rate_bucket(channel, sender)
        self.per_second = per_second
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, units: int, at: float | None = None) -> float:
        """Seconds to wait before sending `units` segments; 0 when there is no cap.

        `at` (Unix seconds) stands in for Redis's clock.
        """
        if self.per_second <= 0:
            return 0.0
        args = [self.per_second, self.per_second, units, "" if at is None else at]
        wait = await self._reserve(keys=[self.key], args=args)
        return float(wait)
