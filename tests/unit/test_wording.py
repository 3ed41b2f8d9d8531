"""Every kind, in every language, has its words, and every notice a channel can send renders:
a new kind that lacks them fails here, not when its first message goes out."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from publishers.sms_text import SmsTexts
from schemas.cap import cap_alert
from schemas.ivr import IvrOutage, describe
from schemas.kinds import ACCOUNT_KINDS, POLICY, ChangeType, NoticeEvent, OutageKind, Status
from schemas.notices import Notice
from schemas.outage import Actor, Change, Outage
from schemas.public import is_public, public_view
from schemas.wording import KIND_LABEL, KIND_SPOKEN, LANGUAGES

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZONE)
ACTOR = Actor(key_id="k", name="n", centre="c")
CHANGE_OF = {
    NoticeEvent.POSTPONED: ChangeType.POSTPONE,
    NoticeEvent.CANCELLED: ChangeType.CANCEL,
    NoticeEvent.RESTORATION_DELAYED: ChangeType.DELAY_RESTORATION,
    NoticeEvent.RESTORED: ChangeType.RESTORED,
}


def _outage(kind: OutageKind) -> Outage:
    starts = NOW + timedelta(days=4)
    fault = kind is OutageKind.FAULT
    return Outage(
        external_id="X", kind=kind, title="T", reason="换开关", region="310115", area_description="科苑路88号",
        scope=msgspec.convert({"accounts": ["A1"]} if kind in ACCOUNT_KINDS else {"feeders": ["F1"]}, type=_scope()),
        starts_at=NOW - timedelta(minutes=30) if fault else starts, ends_at=starts + timedelta(hours=8),
        fault_located_at=NOW - timedelta(minutes=20) if fault else None, id="OUT-1", centre="c",
        status=Status.PUBLISHED, submitted_by=ACTOR, submitted_at=NOW, published_at=NOW,
    )  # fmt: skip


def _scope() -> type:
    from schemas.outage import Scope

    return Scope


def _notice(kind: OutageKind, event: NoticeEvent) -> Notice:
    outage = _outage(kind)
    if event not in CHANGE_OF:
        return Notice(id="new", event=event, published_at=NOW, outage=outage)
    change = Change(
        id="c1", type=CHANGE_OF[event], reason="雨天", submitted_by=ACTOR, submitted_at=NOW,
        status=Status.PUBLISHED, published_at=NOW, previous_starts_at=outage.starts_at,
        previous_ends_at=outage.ends_at,
    )  # fmt: skip
    return Notice(id="c1", event=event, published_at=NOW, outage=outage, change=change)


def test_the_policy_and_the_catalogue_cover_every_kind() -> None:
    assert set(POLICY) == set(OutageKind)
    for language in LANGUAGES:
        assert set(KIND_LABEL[language]) == set(OutageKind), language
        assert set(KIND_SPOKEN[language]) == set(OutageKind), language


@pytest.mark.parametrize("kind", list(OutageKind))
@pytest.mark.parametrize("event", list(NoticeEvent))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_event_and_language_renders_on_every_channel(
    kind: OutageKind, event: NoticeEvent, language: str
) -> None:
    notice = _notice(kind, event)
    text = SmsTexts(ZONE, "95598").render(notice, None, language)
    assert text.strip() and "95598" in text, (kind, event, language, text)
    assert "{" not in text and "None" not in text, text
    view = public_view(notice.outage)
    spoken = describe(msgspec.convert(msgspec.to_builtins(view) | {"cancelled": False}, type=IvrOutage, strict=False),
                      NOW, language, ZONE)  # fmt: skip
    assert KIND_SPOKEN[language][kind] in spoken
    if is_public(kind) and event in (NoticeEvent.NEW, *CHANGE_OF):
        alert = cap_alert(view, "new", sender="s@x", base_url="https://x", hotline="95598", zone=ZONE)
        assert any(KIND_LABEL[info.language][kind] in info.description for info in alert.infos)
