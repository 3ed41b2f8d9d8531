"""The repair orders' clock: the alarm for orders not accepted within 3 minutes of dispatch."""

from typing import Any

from services.fault_reports import FaultReportService


async def repair_clocks(ctx: dict[str, Any]) -> int:
    reports: FaultReportService = ctx["fault_reports"]
    return len(await reports.flag_overdue_acceptances())
