"""D8: table 三 of the annual report, per organ and year, against a table computed by hand."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook

from services.disclosure.sweeper import mark_requests
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.disclosure import disclosure, office
from tests.support.disclosure_requests import act, received
from tests.support.infra import PostgresSource

COLUMNS = (
    "natural-person",
    "commercial-enterprise",
    "research-institution",
    "social-welfare-organisation",
    "legal-service-organisation",
    "other-organisation",
    "total",
)
ORGANISATION = {"organisation": "湖州某某单位"}


def row(*figures: int) -> dict[str, int]:
    """Figures in the template's column order; the total is their sum."""
    padded = [*figures, *([0] * (6 - len(figures)))]
    return dict(zip(COLUMNS, [*padded, sum(padded)], strict=True))


async def _answered(
    client: httpx.AsyncClient, common: CommonSettings, on: str, who: str, when: str, **answer: Any
) -> dict[str, Any]:
    applicant = {"name": "张三", "phone": "13800000000", **(ORGANISATION if who != "natural-person" else {})}
    request = await received(client, common, on, applicant_type=who, applicant=applicant)
    if answer:
        r = await act(client, common, request, "answer", answered_at=at(when).isoformat(), **answer)
        assert r.status_code == 201, r.text
    return request


async def test_D8_table_3_counts_new_carried_over_outcomes_and_carried_forward_requests_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """市发改委 (fgw), 2018. The requests, and where each is counted:

    | req | received   | applicant          | concluded                      | 2018 row               |
    |-----|------------|--------------------|--------------------------------|------------------------|
    | A   | 2017-12-20 | natural person     | 2018-01-10 disclosed           | carried over; 予以公开 |
    | B   | 2017-12-25 | enterprise         | 2017-12-28 disclosed           | not in 2018            |
    | C   | 2017-12-27 | research inst.     | abandoned, completion by 01-15 | carried over; 其他 1   |
    | D   | 2018-03-01 | natural person     | 2018-03-20 not disclosed, 秘密 | new; 不予公开 1        |
    | E   | 2018-05-02 | legal service org. | 2018-05-10 cannot, not held    | new; 无法提供 1        |
    | F   | 2018-06-01 | natural person     | 2018-06-05 not handled, repeat | new; 不予处理 2        |
    | I   | 2018-07-02 | social welfare     | 2018-07-10 partly disclosed    | new; 部分公开          |
    | G   | 2018-12-20 | natural person     | not answered                   | new; carried forward   |
    | H   | 2018-12-25 | other organisation | 2019-01-05 disclosed           | new; carried forward   |
    | J   | 2019-01-02 | natural person     | not answered                   | not in 2018            |

    Hand-computed table (自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他 | 总计):

    - 一 本年新收: 3 (D, F, G), 0, 0, 1 (I), 1 (E), 1 (H) | 6
    - 二 上年结转: 1 (A), 0, 1 (C), 0, 0, 0 | 2
    - （一）予以公开 1 (A) | 1; （二）部分公开 社会公益组织 1 (I) | 1
    - （三）不予公开 1 (D), of which 1.国家秘密 1 | 1
    - （四）无法提供 法律服务机构 1 (E), of which 1.不掌握 1 | 1
    - （五）不予处理 1 (F), of which 2.重复申请 1 | 1
    - （六）其他处理 科研机构 1 (C), of which 1.逾期不补正 1 | 1
    - （七）总计: 3, 0, 1, 1, 1, 0 | 6
    - 四 结转下年度: 1 (G), 0, 0, 0, 0, 1 (H) | 2

    Check: 6 new + 2 carried over = 6 concluded + 2 carried forward; 8 requests counted once.
    """
    async with disclosure(postgres, common) as (client, app):
        disclosed = {"kind": "disclosed", "documents": [{"title": "资金安排"}]}
        await _answered(client, common, "2017-12-20", "natural-person", "2018-01-10 10:00:00", **disclosed)
        await _answered(
            client, common, "2017-12-25", "commercial-enterprise", "2017-12-28 10:00:00", **disclosed
        )
        c = await _answered(client, common, "2017-12-27", "research-institution", "")
        r = await act(
            client,
            common,
            c,
            "completion-notice",
            items="请写明年份",
            notified_on="2017-12-28",
            complete_by="2018-01-15",
        )
        assert r.status_code == 201, r.text
        assert await mark_requests(app.state.ctx, at("2018-01-16 00:00:00")) >= 1
        secret = {"kind": "not-disclosed", "ground": "state-secret", "reason": "属于国家秘密"}
        await _answered(client, common, "2018-03-01", "natural-person", "2018-03-20 10:00:00", **secret)
        not_held = {"kind": "cannot-provide", "ground": "not-held"}
        await _answered(
            client, common, "2018-05-02", "legal-service-organisation", "2018-05-10 10:00:00", **not_held
        )
        repeated = {"kind": "not-handled", "ground": "repeated"}
        await _answered(client, common, "2018-06-01", "natural-person", "2018-06-05 10:00:00", **repeated)
        partly = {"kind": "partly-disclosed", "documents": [{"title": "资金安排"}], "reason": "删除个人信息"}
        await _answered(
            client, common, "2018-07-02", "social-welfare-organisation", "2018-07-10 10:00:00", **partly
        )
        await _answered(client, common, "2018-12-20", "natural-person", "")
        await _answered(
            client, common, "2018-12-25", "other-organisation", "2019-01-05 10:00:00", **disclosed
        )
        await _answered(client, common, "2019-01-02", "natural-person", "")
        # Another organ's request never enters fgw's table.
        await received(client, common, "2018-03-01", department="czj")

        r = await client.get("/v1/annual-reports/fgw/2018", headers=office(common))
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["due_on"] == "2019-01-31" and report["requests"] == 8
        assert [c["key"] for c in report["columns"]] == list(COLUMNS)
        cells = {x["key"]: x["cells"] for x in report["rows"]}
        zero = row()
        expected = {key: zero for key in cells} | {
            "new": row(3, 0, 0, 1, 1, 1),
            "carried-over": row(1, 0, 1),
            "disclosed": row(1),
            "partly-disclosed": row(0, 0, 0, 1),
            "not-disclosed": row(1),
            "not-disclosed:state-secret": row(1),
            "cannot-provide": row(0, 0, 0, 0, 1),
            "cannot-provide:not-held": row(0, 0, 0, 0, 1),
            "not-handled": row(1),
            "not-handled:repeated": row(1),
            "other": row(0, 0, 1),
            "other-abandoned": row(0, 0, 1),
            "total": row(3, 0, 1, 1, 1, 0),
            "carried-forward": row(1, 0, 0, 0, 0, 1),
        }
        assert cells == expected
        labels = [x["label"] for x in report["rows"]]
        assert labels[0] == "一、本年新收政府信息公开申请数量" and labels[-1] == "四、结转下年度继续办理"
        assert "1.属于国家秘密" in labels and "（七）总计" in labels

        page = await client.get(
            "/v1/annual-reports/fgw/2018", params={"format": "html"}, headers=office(common)
        )
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "法人或其他组织" in page.text and "三、本年度办理结果" in page.text

        book = await client.get(
            "/v1/annual-reports/fgw/2018", params={"format": "xlsx"}, headers=office(common)
        )
        sheet = load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None
        by_label = {r[0]: list(r[1:]) for r in sheet.iter_rows(min_row=4, values_only=True)}
        assert by_label["一、本年新收政府信息公开申请数量"] == [3, 0, 0, 1, 1, 1, 6]
        assert by_label["四、结转下年度继续办理"] == [1, 0, 0, 0, 0, 1, 2]

        # 2017: B concluded in it; A and C carried forward.
        earlier = (await client.get("/v1/annual-reports/fgw/2017", headers=office(common))).json()
        cells = {x["key"]: x["cells"] for x in earlier["rows"]}
        assert cells["new"] == row(1, 1, 1) and cells["disclosed"] == row(0, 1)
        assert cells["carried-forward"] == row(1, 0, 1)
