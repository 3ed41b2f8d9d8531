"""A synthetic customer file: realistic enough to fan out to, generated the same way every time."""

import random
import zlib
from collections.abc import Iterator

from schemas.customers import REQUIRED_COLUMNS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
ROADS = ("科苑路", "张江路", "华木路", "川桥路", "高科路", "芳甸路", "锦绣路")
# (feeder, transformer areas) of the demo region; the demo outages use these names.
NETWORK = [(f"ZJ-10kV-{n:02d}", [f"TA-ZJ-{n:02d}{m:02d}" for m in range(10, 22)]) for n in range(1, 8)] + [
    ("HM-10kV-01", [f"TA-HM-01{m:02d}" for m in range(1, 12)]),
    ("ZJ-10kV-04", ["TA-ZJ-0420"]),
]


# Chinese mobile prefixes; a generated file for another region uses others, so its numbers do not
# land on the demo customers' phones.
MOBILE_PREFIXES = ("138", "139", "150", "186", "137", "158", "187", "135", "152", "188", "136", "159")


def demo_account(region: str, n: int) -> str:
    """The n-th synthetic account of a region: digits only (a caller can key it on a phone), and
    prefixed by the region, so files generated for two regions never share an account."""
    return f"{region}{n:07d}"


def synthetic_customers(count: int, *, region: str = "310115", seed: int = 95598) -> Iterator[str]:
    """CSV lines, header first; accounts 3101150000000.., about 10% English, 5% important customers."""
    rng = random.Random(f"{seed}:{region}")
    spread = zlib.crc32(region.encode())
    first = spread % (len(MOBILE_PREFIXES) // 4) * 4
    prefixes = MOBILE_PREFIXES[first : first + 4]
    # The demo region keeps its numbers; another region's start elsewhere in the number space.
    offset = 0 if region == "310115" else spread % 10**8
    yield ",".join((*REQUIRED_COLUMNS, "address")) + "\n"
    for n in range(count):
        feeder, areas = NETWORK[n % len(NETWORK)]
        area = areas[rng.randrange(len(areas))]
        if feeder == "ZJ-10kV-03" and n % 5 == 0:
            area = "TA-ZJ-0312"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
        phone = f"+86{rng.choice(prefixes)}{(n + offset) % 10**8:08d}"
        important = "1" if rng.random() < 0.05 else "0"
        language = "en" if rng.random() < 0.1 else "zh-CN"
        address = f"{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
        yield f"{demo_account(region, n)},{name},{phone},{region},{feeder},{area},{important},{language},{address}\n"
