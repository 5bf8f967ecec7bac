"""Printable assessment results (E6): the results table as HTML and XLSX (openpyxl), and one unit's
breakdown showing every score and deduction with its source."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from services.evaluation.assessment_domain import Scheme
from services.evaluation.assessment_schemas import EntryView, ResultsView, UnitBreakdown, UnitResultView
from shared.deadlines import local

STATE = {"preview": "预览（未公布）", "published": "已公布"}
SOURCE = {"entered": "录入", "imported": "批量导入", "proposed": "平台事件提出、考核单位确认"}
CLASS = {"A": "A类（达标制）", "B": "B类（量分考核）"}
STYLE = (
    "body{font-family:'SimSun','Songti SC',serif;margin:2em}table{border-collapse:collapse;font-size:10pt}"
    "th,td{border:1px solid #000;padding:2px 4px;text-align:center}caption{font-size:16pt;font-weight:bold}"
    "td.l{text-align:left}"
)


def _n(value: Decimal | None) -> str:
    return "—" if value is None else str(value)


def _when(value: datetime | None) -> str:
    return "" if value is None else local(value).strftime("%Y-%m-%d %H:%M")


def _prize(scheme: Scheme, code: str | None) -> str:
    return next((p.name for p in scheme.prizes if p.code == code), "")


def _standing(scheme: Scheme, unit: UnitResultView) -> str:
    if unit.unit_class == "A":
        return "达标" if unit.passed else "未达标"
    return f"B类第{unit.class_rank}名"


def _columns(scheme: Scheme) -> list[str]:
    items = [f"{i.name}（{i.points}）" for i in scheme.items()]
    parts = [f"{p.name}合计" for p in scheme.parts]
    return ["名次", "单位", "类别", "组别", *items, *parts, "最后得分", "达标/名次", "先进奖"]


def _row(scheme: Scheme, unit: UnitResultView) -> list[object]:
    return [
        unit.rank,
        unit.name,
        unit.unit_class,
        unit.group,
        *[unit.items.get(i.code) for i in scheme.items()],
        *[unit.parts[p.code] for p in scheme.parts],
        unit.final,
        _standing(scheme, unit),
        _prize(scheme, unit.prize),
    ]


def _title(view: ResultsView) -> str:
    return f"{view.year}年度 {view.title} 考核结果"


def _footer(view: ResultsView) -> str:
    published = f"，{_when(view.published_at)} 由 {view.published_by} 公布" if view.published_at else ""
    return (
        f"方案 {view.scheme_id} 第{view.scheme_version}版；A类单位达标线 {view.pass_mark} 分；"
        f"{STATE[view.state]}{published}。"
    )


def results_html(view: ResultsView, scheme: Scheme) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in _columns(scheme))
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(_n(v) if isinstance(v, Decimal) or v is None else str(v))}</td>"
            for v in _row(scheme, u)
        )
        + "</tr>"
        for u in view.units
    )
    missing = (
        f"<p>尚未评分：{escape('、'.join(m['unit'] + '/' + m['item'] for m in view.missing))}</p>"
        if view.missing
        else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(_title(view))}</title>
<style>{STYLE}</style></head><body><table><caption>{escape(_title(view))}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<p>{escape(_footer(view))}</p>{missing}</body></html>"""


def results_xlsx(view: ResultsView, scheme: Scheme) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "考核结果"
    columns = _columns(scheme)
    _append(sheet, [_title(view)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.cell(1, 1).font = Font(bold=True, size=16)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    _append(sheet, columns)
    for c in range(1, len(columns) + 1):
        sheet.cell(2, c).font = Font(bold=True)
        sheet.cell(2, c).alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    for unit in view.units:
        _append(sheet, _row(scheme, unit))
    _append(sheet, [_footer(view)])
    sheet.column_dimensions[get_column_letter(2)].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _append(sheet: object, values: Sequence[object]) -> None:
    """A row; text loses the control characters XML cannot hold; decimals stay exact numbers."""
    cells = [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
    sheet.append(cells)  # type: ignore[attr-defined]


def _source(entry: EntryView) -> str:
    text = SOURCE[entry.source_kind]
    if entry.source_kind == "proposed" and entry.source_detail:
        fact = entry.source_detail
        text += f"：{fact.get('kind')} {fact.get('subject_id')}（{fact.get('effective_on')}）"
    elif entry.source:
        text += f"：{entry.source}"
    return text


def _entry_row(entry: EntryView) -> str:
    what = " ".join(x for x in (entry.reason, entry.node, entry.member, entry.matter) if x)
    amount = f"−{entry.amount}" if entry.kind == "deduction" else str(entry.amount)
    if entry.capped:
        amount += f"（申请 −{entry.requested}，已封顶）"
    confirmed = f"{entry.confirmed_by} {_when(entry.confirmed_at)}" if entry.confirmed_by else ""
    if entry.withdrawn_by:
        amount = f"（已撤销，不计分）{amount}"
        confirmed += f" 撤销：{entry.withdrawn_by} {_when(entry.withdrawn_at)} {entry.withdrawn_reason or ''}"
    cells = [
        amount,
        what,
        _source(entry),
        entry.assessor,
        f"{entry.entered_by} {_when(entry.entered_at)}",
        confirmed,
        entry.note or "",
    ]
    return "<tr>" + "".join(f'<td class="l">{escape(c)}</td>' for c in cells) + "</tr>"


def breakdown_html(breakdown: UnitBreakdown) -> str:
    result = breakdown.result
    title = f"{breakdown.year}年度考核得分明细：{result.name}"
    blocks = []
    for item in breakdown.items:
        rows = "".join(_entry_row(e) for e in item.entries) or '<tr><td colspan="7">（无记录）</td></tr>'
        closed = f"，{item.closed_by} {_when(item.closed_at)} 结项计算" if item.closed_by else ""
        blocks.append(
            f"<h3>{escape(item.name)}（{item.points}分，得 {escape(_n(item.score))} 分{escape(closed)}）</h3>"
            "<table><tr><th>分值</th><th>情形/节点/评审人/事项</th><th>来源</th><th>考核单位</th>"
            f"<th>录入</th><th>确认</th><th>说明</th></tr>{rows}</table>"
        )
    summary = (
        f"{CLASS[result.unit_class]}，组别 {result.group}；"
        + "；".join(f"{k} {v}" for k, v in result.parts.items())
        + f"；最后得分 {result.final}；名次 {result.rank}"
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1><p>{escape(summary)}（{STATE[breakdown.state]}）</p>{"".join(blocks)}</body></html>"""
