"""OASIS CAP 1.2 rules, checked element by element (the spec's schema and its section 3 text)."""

import re
import xml.etree.ElementTree as ET

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction",
               "addresses", "code", "note", "references", "incidents", "info"]  # fmt: skip
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience",
              "eventCode", "effective", "onset", "expires", "senderName", "headline", "description",
              "instruction", "web", "contact", "parameter", "resource", "area"]  # fmt: skip
ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                 "CBRNE", "Other"},
    "responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}  # fmt: skip


def _names(element: ET.Element) -> list[str]:
    return [child.tag.removeprefix(NS) for child in element]


def _in_order(names: list[str], order: list[str]) -> bool:
    positions = [order.index(n) for n in names]
    return positions == sorted(positions)


def check_cap(xml: str) -> ET.Element:
    """Raises AssertionError naming the first broken rule; returns the parsed alert."""
    alert = ET.fromstring(xml.encode())
    assert alert.tag == NS + "alert", "root must be cap:alert in the CAP 1.2 namespace"
    names = _names(alert)
    assert all(n in ALERT_ORDER for n in names), f"unknown alert elements: {names}"
    assert _in_order(names, ALERT_ORDER), f"alert elements out of order: {names}"
    for required in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        assert names.count(required) == 1, f"alert needs exactly one {required}"
    for name in ("identifier", "sender"):
        value = alert.findtext(NS + name) or ""
        assert value and not re.search(r"[\s,<&]", value), f"{name} {value!r} has a forbidden character"
    assert DATETIME.match(alert.findtext(NS + "sent") or ""), "sent is not a CAP dateTime"
    for name in ("status", "msgType", "scope"):
        assert alert.findtext(NS + name) in ENUMS[name], f"{name} not allowed"
    if alert.findtext(NS + "msgType") in ("Update", "Cancel"):
        references = alert.findtext(NS + "references") or ""
        assert references, "an Update or Cancel must reference the earlier alert"
    for reference in (alert.findtext(NS + "references") or "").split():
        sender, ident, sent = reference.split(",")
        assert sender and ident and DATETIME.match(sent), f"bad reference {reference}"
    infos = alert.findall(NS + "info")
    assert infos, "a public alert needs an info block"
    for info in infos:
        names = _names(info)
        assert all(n in INFO_ORDER for n in names) and _in_order(names, INFO_ORDER), f"info order: {names}"
        for required in ("category", "event", "urgency", "severity", "certainty"):
            assert required in names, f"info needs {required}"
        for name in ("category", "responseType", "urgency", "severity", "certainty"):
            for element in info.findall(NS + name):
                assert element.text in ENUMS[name], f"{name} {element.text} not allowed"
        for name in ("effective", "onset", "expires"):
            when = info.findtext(NS + name)
            assert when is None or DATETIME.match(when), f"{name} is not a CAP dateTime"
        for area in info.findall(NS + "area"):
            assert area.findtext(NS + "areaDesc"), "area needs areaDesc"
            for polygon in area.findall(NS + "polygon"):
                points = (polygon.text or "").split()
                assert len(points) >= 4 and points[0] == points[-1], "polygon needs 4+ points, closed"
                for point in points:
                    lat, lon = (float(x) for x in point.split(","))
                    assert -90 <= lat <= 90 and -180 <= lon <= 180
    return alert
