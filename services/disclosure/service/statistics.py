"""Statistics per department and period: what became of the versions formed in it (D1–D3).

JSON for programs; CSV and XLSX with Chinese headers for the office's reports.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import ColumnElement, Select, and_, func, select

from services.disclosure import domain
from services.disclosure.domain import VersionStatus
from services.disclosure.schemas import DepartmentStatistics, StatisticsReport
from services.disclosure.tables import document_versions, documents
from shared import reference
from shared.app import ServiceContext
from shared.periods import ReportPeriod

HEADERS = (
    ("department", "部门代码"),
    ("department_name", "部门"),
    ("formed", "形成（含变更）"),
    ("published_on_time", "按时公开"),
    ("published_late", "逾期公开"),
    ("overdue_unpublished", "逾期未公开"),
    ("exempt", "不予公开"),
    ("open", "待公开"),
    ("superseded", "被新版本取代"),
    ("on_time_rate", "按时公开率"),
)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(condition)


async def statistics(ctx: ServiceContext, period: str, department: str | None) -> StatisticsReport:
    span = domain.statistics_period(period)
    if department is not None:
        reference.known_department(department, field="department")
    async with ctx.db.reader() as session:
        found = {
            r.department: domain.Outcomes(**{k: n for k, n in r._mapping.items() if k != "department"})
            for r in (await session.execute(_outcomes(span, department))).all()
        }
    if department is not None:
        found.setdefault(department, domain.Outcomes())
    order = {x.code: i for i, x in enumerate(reference.departments())}
    rows = [_row(code, found[code]) for code in sorted(found, key=lambda c: (order.get(c, len(order)), c))]
    return StatisticsReport(
        period=str(span),
        start=span.first_day,
        end=span.end,
        departments=rows,
        total=_row("all", domain.Outcomes.combined(found.values()), name="合计"),
    )


def _outcomes(span: ReportPeriod, department: str | None) -> Select[Any]:
    """The outcomes of the versions formed in ``span``, per drafting department."""
    v, d = document_versions, documents
    status = v.c.status
    published = status == VersionStatus.PUBLISHED
    query = (
        select(
            d.c.drafting_department.label("department"),
            func.count().label("formed"),
            _counted(and_(published, v.c.published_on_time.is_(True))).label("published_on_time"),
            _counted(and_(published, v.c.published_on_time.is_(False))).label("published_late"),
            _counted(status == VersionStatus.OVERDUE).label("overdue_unpublished"),
            _counted(status == VersionStatus.EXEMPT).label("exempt"),
            _counted(status == VersionStatus.OPEN).label("open"),
            _counted(status == VersionStatus.SUPERSEDED).label("superseded"),
        )
        .join(d, d.c.id == v.c.document_id)
        .where(v.c.formed_on >= span.first_day, v.c.formed_on < span.end)
        .group_by(d.c.drafting_department)
    )
    if department is not None:
        query = query.where(d.c.drafting_department == department)
    return query


def _row(code: str, outcomes: domain.Outcomes, *, name: str | None = None) -> DepartmentStatistics:
    department_name = name or reference.department_name(code)
    return DepartmentStatistics.of(outcomes, department=code, department_name=department_name)


def _table(report: StatisticsReport) -> list[DepartmentStatistics]:
    return [*report.departments, report.total]


def to_csv(report: StatisticsReport) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["期间", *(label for _, label in HEADERS)])
    for row in _table(report):
        values = row.model_dump()
        rate = values["on_time_rate"]
        values["on_time_rate"] = "" if rate is None else f"{rate:.2%}"
        writer.writerow([report.period, *(values[name] for name, _ in HEADERS)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: StatisticsReport) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"政务公开统计 {report.period}"
    sheet.append(["期间", *(label for _, label in HEADERS)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _table(report):
        values = row.model_dump()
        sheet.append([report.period, *(values[name] for name, _ in HEADERS)])
        sheet.cell(row=sheet.max_row, column=len(HEADERS) + 1).number_format = "0.00%"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
