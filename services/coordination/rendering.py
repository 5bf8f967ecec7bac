"""Printable documents: the assignment sheet in the layout of 附件2 (HTML, A4, print-ready), the
overdue table of 附件3 as an XLSX workbook (openpyxl), and for the major matters (C8) the monthly
internal bulletin (HTML and XLSX, one row per matter) and the quarterly public page (HTML).

No PDF: no PDF library is installed; the HTML prints to PDF from any browser (A4 page rules).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.coordination import domain
from services.coordination.major_schemas import BulletinRow, MonthlyBulletin, QuarterlyPage
from services.coordination.schemas import JointMatterView, OverdueTable
from shared.deadlines import local_date

SHEET_TITLE = "部门会办事项交办单"
SHEET_NOTE = "注：此交办单同时抄报市政府督查室。"

_CSS = """
@page { size: A4; margin: 25mm 20mm; }
body { font-family: "FangSong", "仿宋", "STFangsong", "SimSun", serif; font-size: 14pt; color: #000; }
h1 { font-family: "SimHei", "黑体", sans-serif; font-size: 20pt; text-align: center; letter-spacing: 2pt;
     margin: 0 0 12pt; }
table.sheet { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.sheet th, table.sheet td { border: 1px solid #000; padding: 6pt 8pt; vertical-align: middle; }
table.sheet th { font-weight: normal; width: 18%; text-align: center; }
td.items ol { margin: 0; padding-left: 1.6em; }
p.note { margin: 8pt 0 0; }
div.sign { text-align: right; margin-top: 28pt; line-height: 2; }
@media print { a { color: #000; text-decoration: none; } }
"""


def _cell(value: str | None) -> str:
    return escape(value or "").replace("\n", "<br>")


def sheet_html(matter: JointMatterView) -> str:
    """附件2: 主办单位 / 会办单位, 交办依据, 主办事项, 会办事项 1. 2. …, 办理反馈时限及要求, 附件,
    联系人 / 联系电话 / 传真, the copy note and the lead department's name and date."""
    cooperating = "、".join(i.department_name for i in matter.items)
    distinct_due = {i.due_on for i in matter.items}
    items = "".join(
        f"<li>{escape(i.department_name)}：{_cell(i.content)}"
        + (f"（{domain.month_day(i.due_on)}前反馈）" if len(distinct_due) > 1 else "")
        + "</li>"
        for i in matter.items
    )
    approvals = "".join(
        f"<br>（时限已经{escape(domain.APPROVAL_TITLES[a.level])}{escape(a.leader_title)}"
        f"于{domain.chinese_date(a.approved_on)}同意"
        + (f"，{escape(a.reference)}" if a.reference else "")
        + "）"
        for a in matter.approvals
    )
    attachments = (
        "；".join(escape(a.name) + (f"（{a.pages}页）" if a.pages else "") for a in matter.attachments)
        or "有关材料复印件。"
    )
    fax = escape(matter.fax or "")
    rows = [
        f"<tr><th>主办单位</th><td>{escape(matter.lead_department_name)}</td>"
        f"<th>会办单位</th><td>{escape(cooperating)}</td></tr>",
        f'<tr><th>交办依据</th><td colspan="3">{_cell(matter.basis)}</td></tr>',
        f'<tr><th>主办事项</th><td colspan="3">{_cell(matter.main_matter)}</td></tr>',
        f'<tr><th>会办事项</th><td colspan="3" class="items"><ol>{items}</ol></td></tr>',
        f'<tr><th>办理反馈时限<br>及要求</th><td colspan="3">'
        f"{_cell(matter.requirements)}{approvals}</td></tr>",
        f'<tr><th>附　　件</th><td colspan="3">{attachments}</td></tr>',
        f"<tr><th>联系人</th><td>{escape(matter.contact_person)}</td><th>联系电话</th>"
        f"<td>{escape(matter.contact_phone)}　传真：{fax}</td></tr>",
    ]
    body = "\n".join(rows)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{SHEET_TITLE} {escape(matter.id)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{SHEET_TITLE}</h1>
<table class="sheet">
<colgroup><col><col><col><col></colgroup>
{body}
</table>
<p class="note">{SHEET_NOTE}</p>
<div class="sign">{escape(matter.lead_department_name)}<br>{domain.chinese_date(matter.assigned_on)}</div>
<p class="note" style="font-size:9pt">编号：{escape(matter.id)}</p>
</body>
</html>
"""


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def overdue_table_xlsx(table: OverdueTable) -> bytes:
    """附件3 as a workbook: title, the filing line, the six headers, the rows, the note, the reviewer."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "超期办理反馈情况"
    width = len(table.columns)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    _append(sheet, [table.title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=16)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    _append(
        sheet,
        [
            f"填报单位（盖章）：{table.filing_unit}　填报时间：{domain.chinese_date(table.filled_on)}"
            f"　联系人：{table.contact_person or ''}　电话：{table.phone or ''}　统计期：{table.period}"
        ],
    )
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    header_row = 3
    _append(sheet, table.columns)
    for row in table.rows:
        _append(sheet, row)
    last = header_row + len(table.rows)
    for r in range(header_row, last + 1):
        for c in range(1, width + 1):
            cell = sheet.cell(r, c)
            cell.border = box
            cell.alignment = Alignment(
                wrap_text=True, vertical="center", horizontal="center" if c != 2 else "left"
            )
    for c in range(1, width + 1):
        sheet.cell(header_row, c).font = Font(bold=True)
    _append(sheet, [table.note])
    sheet.merge_cells(start_row=last + 1, start_column=1, end_row=last + 1, end_column=width)
    review = table.reviewer.review
    _append(
        sheet,
        [
            f"审核：{table.reviewer.title}（{table.reviewer.code}）"
            + (f" 已于{domain.chinese_date(local_date(review.reviewed_at))}审核" if review else " 尚未审核")
        ],
    )
    sheet.merge_cells(start_row=last + 2, start_column=1, end_row=last + 2, end_column=width)
    for index, size in enumerate((6, 40, 16, 12, 18, 30), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = size
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _append(sheet: Worksheet, values: Sequence[object]) -> None:
    """A row of cells; control characters XML cannot hold (stored text may have them) are dropped."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])


_LIST_CSS = """
@page { size: A4 landscape; margin: 15mm; }
body { font-family: "FangSong", "仿宋", "STFangsong", "SimSun", serif; font-size: 11pt; color: #000; }
h1 { font-family: "SimHei", "黑体", sans-serif; font-size: 18pt; text-align: center; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 1px solid #000; padding: 3pt 5pt; vertical-align: top; }
th { font-weight: bold; text-align: center; }
td.behind { font-weight: bold; }
tr { page-break-inside: avoid; }
"""


def _page(title: str, lead: str, table: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{_LIST_CSS}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n{lead}\n{table}\n</body>\n</html>\n"
    )


def _bulletin_cells(row: BulletinRow) -> list[str]:
    return [
        str(row.seq),
        f"{row.number}. {row.title}",
        row.lead_department_name,
        row.leader_title,
        "\n".join(row.milestones),
        domain.BEHIND_LABEL + "：" + "；".join(row.behind_reasons) if row.behind else "否",
        row.reason_given or "",
        row.report,
    ]


_BEHIND_COLUMN = 5
_BEHIND_CELL = '<td class="behind">'


def bulletin_html(bulletin: MonthlyBulletin) -> str:
    """C8 每月内部通报: one row per matter (A4 landscape, print to PDF from a browser)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in bulletin.headers)
    rows = "".join(
        "<tr>"
        + "".join(
            (_BEHIND_CELL if i == _BEHIND_COLUMN and r.behind else "<td>") + f"{_cell(c)}</td>"
            for i, c in enumerate(_bulletin_cells(r))
        )
        + "</tr>"
        for r in bulletin.rows
    )
    behind = sum(1 for r in bulletin.rows if r.behind)
    lead = f"<p>共 {len(bulletin.rows)} 件，其中{domain.BEHIND_LABEL} {behind} 件。内部通报，不公开。</p>"
    return _page(bulletin.title, lead, f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def bulletin_xlsx(bulletin: MonthlyBulletin) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "重大事项月度通报"
    _append(sheet, [bulletin.title])
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    _append(sheet, bulletin.headers)
    for c in range(1, len(bulletin.headers) + 1):
        sheet.cell(2, c).font = Font(bold=True)
    for row in bulletin.rows:
        _append(sheet, _bulletin_cells(row))
    for index, size in enumerate((6, 30, 14, 18, 40, 30, 30, 10), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = size
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def quarterly_html(page: QuarterlyPage) -> str:
    """每季度媒体公布: the public fields of each matter, as published."""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "序号",
            "重大事项",
            "牵头单位",
            "配合单位",
            "完成时限",
            "本季度目标",
            "节点完成情况",
            "进展",
            "状态",
        )
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{_cell(c)}</td>"
            for c in (
                str(m.number),
                m.title,
                m.lead_department_name,
                "、".join(m.cooperating_department_names),
                str(m.completion_due),
                m.quarter_target or "",
                "\n".join(f"{x.title}（{x.due_on}）：{x.status}" for x in m.milestones),
                m.progress or "",
                m.status,
            )
        )
        + "</tr>"
        for m in page.matters
    )
    published = local_date(page.published_at)
    lead = f"<p>市政府办公室 {domain.chinese_date(published)} 公布</p>"
    return _page(page.title, lead, f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
