"""Each environment variable is declared once (schemas.settings.ENVIRONMENT, defaults in Settings)
and README's settings table lists exactly those, with the defaults Settings has."""

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import ENVIRONMENT, Settings, SettingsError, parse_duration, settings_from_env

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_rows() -> dict[str, str]:
    """Variable name -> its default as README's settings table writes it."""
    text = README.read_text()
    table = text[text.index("### Settings (environment variables)") :]
    table = table[: table.index("\n\n", table.index("| variable |"))]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z_0-9]+)`", cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[1]) or [cells[1]]
        for index, name in enumerate(names):
            rows[name] = defaults[index] if len(defaults) == len(names) else cells[1]
    return rows


def test_readme_lists_every_variable_and_nothing_else() -> None:
    declared = {v.name for v in ENVIRONMENT}
    assert set(_readme_rows()) == declared, set(_readme_rows()) ^ declared
    assert len(declared) == len(ENVIRONMENT), "a variable is declared twice"


def _written(value: Any) -> str:
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_readme_gives_the_defaults_settings_has() -> None:
    defaults = Settings()
    rows = _readme_rows()
    checked = 0
    for variable in ENVIRONMENT:
        if variable.field.startswith("lead_time:") or variable.name == "PUBLIC_BASE_URL":
            continue
        value = getattr(defaults, variable.field)
        if value in (None, (), False):
            continue  # "unset", "empty", "0": said in words
        written = rows[variable.name]
        if isinstance(value, timedelta):
            assert parse_duration(written, variable.name) == value, (variable.name, written, value)
        elif isinstance(value, tuple) and all(isinstance(v, timedelta) for v in value):
            parsed = tuple(parse_duration(part, variable.name) for part in written.split(","))
            assert parsed == value, (variable.name, written, value)
        else:
            assert written.startswith(_written(value)), (variable.name, written, value)
        checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PORT": "0"}, "PORT=0"),
        ({"SMS_BATCH_SIZE": "0"}, "SMS_BATCH_SIZE"),
        ({"JOB_LEASE": "0"}, "JOB_LEASE"),
        ({"QUIET_START": "9pm"}, "QUIET_START"),
        ({"DEMO_DATA": "maybe"}, "DEMO_DATA"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"}, "proxy.example"),
    ],
)
def test_a_bad_value_is_named(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        settings_from_env(env)


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    assert settings_from_env({}) == Settings()
    assert settings_from_env({"REDIS_URL": "", "TRUSTED_PROXIES": " "}) == Settings()
    assert settings_from_env({"PORT": "9000"}).public_base_url == "http://127.0.0.1:9000"
