"""The redial job: a call not confirmed is placed again (services/voice.py decides when)."""

from typing import Any

from services.voice import VoiceService


async def redial_call(
    ctx: dict[str, Any], outage_id: str, notice_id: str, entry: str, language: str, attempt: int
) -> str:
    voice: VoiceService = ctx["voice"]
    return await voice.redial(outage_id, notice_id, entry, language, attempt)
