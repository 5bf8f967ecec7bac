"""The bulletin in Chinese as HTML (with a hand-written SVG rank-trend chart per indicator) and XLSX.

Both render the stored JSON bulletin, so every format shows exactly what was published.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.indicators.schemas import Bulletin, BulletinEntry, TrendPoint
from shared import reference
from shared.deadlines import local

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_COLUMNS = (
    "序号",
    "指标名称",
    "指标属性",
    "本市数值",
    "全省排名",
    "较上次",
    "保五",
    "争三",
    "责任单位",
    "后续要求",
)


def shown_value(entry: BulletinEntry) -> str:
    """The value as the bulletin prints it; 同比降幅 says whether the figure fell or rose."""
    if entry.value is None:
        return "—"
    if entry.attribute == "yoy_decline":
        if entry.value > 0:
            return f"下降{entry.value}{entry.unit}"
        if entry.value < 0:
            return f"上升{-entry.value}{entry.unit}"
        return "持平"
    return f"{entry.value}{entry.unit}"


def shown_rank(entry: BulletinEntry) -> str:
    parts = []
    if entry.rank is not None:
        parts.append(f"第{entry.rank}位")
    if entry.grade is not None:
        parts.append(entry.grade)
    return "，".join(parts) or "—"


def shown_change(entry: BulletinEntry) -> str:
    if entry.change is None:
        return "—"
    if entry.change > 0:
        return f"↑{entry.change}"
    if entry.change < 0:
        return f"↓{-entry.change}"
    return "持平"


def follow_up(entry: BulletinEntry) -> str:
    parts = []
    if entry.report_duty is not None:
        due = last_day(entry.report_duty.due_at)
        lead = entry.departments[0].name
        parts.append(f"{lead}主要负责人向市政府常务会议汇报说明（{due} 24:00前）")
    if entry.interview is not None:
        parts.append(f"约谈：{entry.interview.reason}")
    return "；".join(parts)


def last_day(due_at: datetime) -> str:
    """The last day of a period that ends at ``due_at`` (00:00 Asia/Shanghai after it)."""
    return (local(due_at) - timedelta(microseconds=1)).date().isoformat()


def _period_tick(period: str) -> str:
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"{int(period[5:])}月"
    if "-Q" in period:
        return period[5:]
    return period


@dataclass(frozen=True)
class _Frame:
    """Where a rank-trend chart draws: rank 1 at the top, the releases left to right."""

    cities: int
    points: int

    width, height = 440, 200
    left, right, top, bottom = 44, 40, 16, 36
    pad = 14  # keeps the first and last points (and their labels) off the axes

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def y(self, rank: int) -> float:
        return self.top + (rank - 1) * self.plot_h / max(self.cities - 1, 1)

    def x(self, index: int) -> float:
        step = (self.plot_w - 2 * self.pad) / max(self.points - 1, 1)
        return self.left + (self.plot_w / 2 if self.points == 1 else self.pad + index * step)


def trend_svg(entry: BulletinEntry, *, keep_within: int, strive_for: int) -> str:
    """A rank-trend line chart: rank 1 at the top, the 争三 and 保五 lines, misses shaded."""
    cities = max([entry.cities] + [p.rank for p in entry.trend if p.rank is not None])
    f = _Frame(cities, len(entry.trend))
    title = escape(f"{entry.name} 全省排名走势")
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{f.width}" height="{f.height}" '
            f'viewBox="0 0 {f.width} {f.height}" role="img" aria-label="{title}" class="trend">',
            f"<title>{title}</title>",
            *_axes(f, keep_within, strive_for),
            *_series(f, entry.trend, keep_within),
            f'<text x="12" y="{f.top + f.plot_h / 2:.1f}" font-size="10" text-anchor="middle" '
            f'transform="rotate(-90 12 {f.top + f.plot_h / 2:.1f})">全省排名</text>',
            "</svg>",
        ]
    )


def _axes(f: _Frame, keep_within: int, strive_for: int) -> list[str]:
    """The band of ranks worse than 保五, the axes, the 争三 and 保五 lines and the rank labels."""
    shade = ""
    if keep_within < f.cities:
        boundary = (f.y(keep_within) + f.y(keep_within + 1)) / 2
        shade = (
            f'<rect x="{f.left}" y="{boundary:.1f}" width="{f.plot_w}" '
            f'height="{f.top + f.plot_h - boundary:.1f}" fill="#fdecea"/>'
        )
    bottom = f.top + f.plot_h
    parts = [
        shade,
        f'<line x1="{f.left}" y1="{f.top}" x2="{f.left}" y2="{bottom}" stroke="#888"/>',
        f'<line x1="{f.left}" y1="{bottom}" x2="{f.left + f.plot_w}" y2="{bottom}" stroke="#888"/>',
    ]
    for rank, label, colour in ((strive_for, "争三", "#2e7d32"), (keep_within, "保五", "#ef6c00")):
        parts.append(
            f'<line x1="{f.left}" y1="{f.y(rank):.1f}" x2="{f.left + f.plot_w}" y2="{f.y(rank):.1f}" '
            f'stroke="{colour}" stroke-dasharray="4 3"/>'
            f'<text x="{f.left + f.plot_w + 4}" y="{f.y(rank) + 4:.1f}" font-size="10" '
            f'fill="{colour}">{label}</text>'
        )
    for rank in sorted({1, strive_for, keep_within, f.cities}):
        parts.append(
            f'<text x="{f.left - 6}" y="{f.y(rank) + 4:.1f}" font-size="10" text-anchor="end">{rank}</text>'
        )
    return parts


def _series(f: _Frame, points: Sequence[TrendPoint], keep_within: int) -> list[str]:
    """The line through the ranked releases, each release's tick, and its point (red past 保五)."""
    parts = []
    ranked = [(i, p.rank) for i, p in enumerate(points) if p.rank is not None]
    if len(ranked) > 1:
        path = " ".join(f"{f.x(i):.1f},{f.y(r):.1f}" for i, r in ranked)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    for i, point in enumerate(points):
        parts.append(
            f'<text x="{f.x(i):.1f}" y="{f.top + f.plot_h + 16}" font-size="10" text-anchor="middle">'
            f"{escape(_period_tick(point.period))}</text>"
        )
        if point.rank is None:
            continue
        colour = "#c62828" if point.rank > keep_within else "#1565c0"
        parts.append(
            f'<circle cx="{f.x(i):.1f}" cy="{f.y(point.rank):.1f}" r="4" fill="{colour}">'
            f"<title>{escape(point.period)}：第{point.rank}位</title></circle>"
            f'<text x="{f.x(i):.1f}" y="{f.y(point.rank) - 7:.1f}" font-size="10" text-anchor="middle" '
            f'fill="{colour}">{point.rank}</text>'
        )
    return parts


_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #bbb;padding:4px 8px;font-size:14px;text-align:center}
th{background:#f0f0f0}
tr.behind td{background:#fdecea}
.top{color:#2e7d32;font-weight:bold}.behind{color:#c62828;font-weight:bold}
section.indicator{display:inline-block;vertical-align:top;margin:0 1em 1em 0;width:440px}
section.indicator h3{font-size:15px;margin:.3em 0}
p.meta{color:#555;font-size:13px}
"""


def render_html(bulletin: Bulletin) -> str:
    rows = []
    for e in bulletin.entries:
        rows.append(
            f'<tr class="{e.standing}"><td>{e.seq}</td><td>{escape(e.name)}</td>'
            f"<td>{escape(e.attribute_label or '—')}</td><td>{escape(shown_value(e))}</td>"
            f'<td class="{e.standing}">{escape(shown_rank(e))}</td><td>{shown_change(e)}</td>'
            f"<td>{'✓' if e.within_top5 else '✗'}</td><td>{'✓' if e.within_top3 else ''}</td>"
            f"<td>{escape('、'.join(d.name for d in e.departments))}</td>"
            f"<td>{escape(follow_up(e))}</td></tr>"
        )
    charts = []
    for e in bulletin.entries:
        duty = ""
        if e.report_duty is not None:
            due = last_day(e.report_duty.due_at)
            duty = f"<p class='meta'>汇报说明：{escape(e.report_duty.reason)}，{due} 24:00前</p>"
        interview = ""
        if e.interview is not None:
            leaders = "、".join(reference.leader_title(code) for code in e.interview.interviewers)
            interview = f"<p class='meta'>约谈：{escape(e.interview.reason)}（约谈人 {escape(leaders)}）</p>"
        chart = trend_svg(
            e, keep_within=bulletin.report_when_rank_worse_than, strive_for=bulletin.strive_for_top
        )
        charts.append(
            f'<section class="indicator" id="{escape(e.indicator)}"><h3>{e.seq}. {escape(e.name)}</h3>{chart}'
            f"{duty}{interview}</section>"
        )
    missing = ""
    if bulletin.not_released:
        names = "、".join(escape(n.name) for n in bulletin.not_released)
        missing = f"<p class='meta'>本期省里未发布：{names}</p>"
    s = bulletin.summary
    status = "预览（尚未通报）" if bulletin.draft else f"第{bulletin.edition}版"
    header = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(bulletin.title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(bulletin.title)}</h1>"
        f"<p class='meta'>通报日期：{bulletin.issued_on.isoformat()}　{status}　"
        f"保五：前{bulletin.report_when_rank_worse_than}位　争三：前{bulletin.strive_for_top}位</p>"
        f"<p>本期发布 {s.released} 项指标：前{bulletin.strive_for_top}位 {s.within_top3} 项，"
        f"前{bulletin.report_when_rank_worse_than}位 {s.within_top5} 项，"
        f"第{bulletin.report_when_rank_worse_than}位以后（或等次靠后）{s.worse_than_threshold} 项。</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>{missing}"
        f"<h2>排名走势</h2>{''.join(charts)}</body></html>"
    )


def render_xlsx(bulletin: Bulletin) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "通报"
    _append(sheet, [bulletin.title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(_COLUMNS))
    sheet["A1"].font = Font(bold=True, size=14)
    _append(sheet, [f"通报日期 {bulletin.issued_on.isoformat()}，第{bulletin.edition}版"])
    _append(sheet, list(_COLUMNS))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F0F0F0")
    behind = PatternFill("solid", fgColor="FDECEA")
    for e in bulletin.entries:
        _append(
            sheet,
            [
                e.seq,
                e.name,
                e.attribute_label or "—",
                shown_value(e),
                shown_rank(e),
                shown_change(e),
                "是" if e.within_top5 else "否",
                "是" if e.within_top3 else "否",
                "、".join(d.name for d in e.departments),
                follow_up(e),
            ],
        )
        if e.worse_than_threshold:
            for cell in sheet[sheet.max_row]:
                cell.fill = behind
    for n, name in enumerate(bulletin.not_released, start=1):
        if n == 1:
            _append(sheet, [])
            _append(sheet, ["本期省里未发布"])
        _append(sheet, ["", name.name])
    for column, width in zip(range(1, len(_COLUMNS) + 1), (6, 26, 14, 14, 12, 8, 6, 6, 20, 50), strict=True):
        sheet.column_dimensions[get_column_letter(column)].width = width

    cities = book.create_sheet("各市数据")
    _append(cities, ["指标名称", "城市", "数值", "发布数值", "全省排名"])
    for e in bulletin.entries:
        for r in e.ranking:
            _append(cities, [e.name, r.city_name, _number(r.value), _number(r.published_value), r.rank])

    trend = book.create_sheet("排名走势")
    periods = sorted({p.period for e in bulletin.entries for p in e.trend})
    _append(trend, ["指标名称", *periods])
    for e in bulletin.entries:
        ranks = {p.period: p.rank for p in e.trend}
        _append(trend, [e.name, *(ranks.get(p) for p in periods)])
    for ws in (sheet, cities, trend):
        for row in ws.iter_rows():
            for cell in row:
                cell.alignment = Alignment(vertical="center", wrap_text=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: Decimal) -> float | int:
    # Spreadsheet cells hold numbers; the published values have at most 4 decimal places.
    return int(value) if value == value.to_integral_value() else float(value)


def _append(sheet: Worksheet, values: Sequence[object]) -> None:
    """A row of cells; control characters XML cannot hold (stored text may have them) are dropped."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
