"""D8: table 三 of the annual report (收到和处理政府信息公开申请情况) per organ and year, in the rows
and columns of the national template (国办公开办函〔2021〕30号), as JSON, HTML and XLSX.

The figures come from ``domain.annual_table``, which counts each request once and checks that the
table adds up before it is shown.
"""

from __future__ import annotations

import html
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import or_, select

from services.disclosure import domain
from services.disclosure.domain import AnswerKind, ApplicantType, RequestStatus
from services.disclosure.schemas import AnnualColumn, AnnualReport, AnnualRow
from services.disclosure.tables import disclosure_requests
from shared import reference
from shared.app import ServiceContext
from shared.calendar import default_calendar
from shared.rules import RuleViolation

TITLE = "三、收到和处理政府信息公开申请情况"
RESULTS_HEADING = "三、本年度办理结果"


async def annual_report(ctx: ServiceContext, department: str, year: int) -> AnnualReport:
    reference.known_department(department, field="department")
    first = default_calendar().first_year()
    if not first <= year <= ctx.today().year:
        raise RuleViolation(
            f"年度 {year} 不在可统计的范围内（{first}–{ctx.today().year}）",
            kind="invalid-year",
            rule="D8",
            field="year",
        )
    r = disclosure_requests
    query = select(
        r.c.id,
        r.c.applicant_type,
        r.c.received_on,
        r.c.concluded_on,
        r.c.status,
        r.c.answer_kind,
        r.c.answer_ground,
    ).where(
        r.c.department == department,
        r.c.received_on <= date(year, 12, 31),
        or_(r.c.concluded_on.is_(None), r.c.concluded_on >= date(year, 1, 1)),
    )
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    counted = [
        domain.CountedRequest(
            request_id=row.id,
            applicant_type=ApplicantType(row.applicant_type),
            received_on=row.received_on,
            concluded_on=row.concluded_on,
            row=None
            if row.concluded_on is None
            else domain.outcome_row(
                None if row.answer_kind is None else AnswerKind(row.answer_kind),
                row.answer_ground,
                abandoned=row.status == RequestStatus.ABANDONED,
            ),
        )
        for row in rows
    ]
    table = domain.annual_table(year, counted)
    return AnnualReport(
        department=department,
        department_name=reference.department_name(department),
        year=year,
        due_on=domain.annual_report_due(ctx.profile, year),
        columns=[AnnualColumn(key=t.value, label=t.label) for t in ApplicantType]
        + [AnnualColumn(key="total", label="总计")],
        rows=[AnnualRow(key=key, label=label, cells=table.cells[key]) for key, label in domain.ANNUAL_ROWS],
        requests=len(table.counted),
    )


def _layout(report: AnnualReport) -> list[tuple[str, list[int] | None]]:
    """The template's lines top to bottom: a label and its figures (``None`` for a heading line)."""
    lines: list[tuple[str, list[int] | None]] = []
    for row in report.rows:
        if row.key == "disclosed":
            lines.append((RESULTS_HEADING, None))
        lines.append((row.label, [row.cells[c.key] for c in report.columns]))
    return lines


def to_html(report: AnnualReport) -> str:
    """The table as printed in the annual report: "
    "申请人情况 over 自然人 | 法人或其他组织 (five kinds) | 总计."""
    organisations = [c for c in report.columns if c.key not in ("natural-person", "total")]
    head = (
        "<tr><th rowspan=2>申请人情况</th><th rowspan=2>自然人</th>"
        f"<th colspan={len(organisations)}>法人或其他组织</th><th rowspan=2>总计</th></tr>"
        "<tr>" + "".join(f"<th>{html.escape(c.label)}</th>" for c in organisations) + "</tr>"
    )
    body = []
    width = len(report.columns) + 1
    for label, figures in _layout(report):
        if figures is None:
            body.append(f"<tr><th colspan={width} class=heading>{html.escape(label)}</th></tr>")
        else:
            cells = "".join(f"<td>{n}</td>" for n in figures)
            body.append(f"<tr><th class=row>{html.escape(label)}</th>{cells}</tr>")
    title = f"{html.escape(report.department_name)} {report.year} 年政府信息公开工作年度报告"
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f"<title>{title} 表三</title>"
        "<style>body{font-family:serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #000;padding:4px 8px;text-align:center}th.row,th.heading{text-align:left}"
        "th.row{font-weight:normal}</style></head><body>"
        f"<h1>{title}</h1><h2>{TITLE}</h2>"
        f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
        f"<p>本表计入申请 {report.requests} 件（本年新收与上年结转"
        f"，每件只计一次）；年度报告须于 {report.due_on} 前公布。</p>"
        "</body></html>"
    )


def to_xlsx(report: AnnualReport) -> bytes:
    """The same table in a workbook, with the template's merged header cells."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"表三 {report.year}"
    organisations = [c for c in report.columns if c.key not in ("natural-person", "total")]
    last = len(report.columns) + 1
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    sheet.append(["申请人情况", "自然人", "法人或其他组织", *([None] * (len(organisations) - 1)), "总计"])
    sheet.append([None, None, *(c.label for c in organisations), None])
    sheet.merge_cells(start_row=2, start_column=1, end_row=3, end_column=1)
    sheet.merge_cells(start_row=2, start_column=2, end_row=3, end_column=2)
    sheet.merge_cells(start_row=2, start_column=3, end_row=2, end_column=2 + len(organisations))
    sheet.merge_cells(start_row=2, start_column=last, end_row=3, end_column=last)
    for row in sheet.iter_rows(min_row=1, max_row=3):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for label, figures in _layout(report):
        sheet.append([label, *(figures or [])])
        if figures is None:
            sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=last)
    sheet.column_dimensions["A"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
