from typing import Any

import pytest
from pydantic import ValidationError

from shared import reference
from shared.reference import ReferenceData, UnknownReference

# 000 附件4 §一, in the seed's order.
SEED_EVALUABLE = (
    "市发改委 市经信委 市教育局 市科技局 市民宗局 市公安局 市民政局 市司法局 市财政局 市人力社保局 "
    "市国土资源局 市建设局 市规划局 市交通运输局 市水利局 市农业局 市林业局 市商务局 市文广新局 市体育局 "
    "市卫生计生局 市审计局 市环保局 市统计局 市外侨办 市旅发委 市安全监管局 市综合执法局 市市场监管局 "
    "市质量技监局 市人防办 市国资委 市政务办 市供销社 市机关事务局 市金融办 市公积金管理中心 市大数据中心"
).split()


def _data() -> dict[str, Any]:
    return reference.reference_data().model_dump(mode="json")


def test_E1_evaluable_departments_are_the_38_of_the_seed_in_order() -> None:
    assert len(SEED_EVALUABLE) == 38
    assert [d.short_name for d in reference.evaluable_departments()] == SEED_EVALUABLE


def test_department_lookup_by_code() -> None:
    fgw = reference.department("fgw")
    assert (fgw.short_name, fgw.name, fgw.evaluable) == ("市发改委", "湖州市发展和改革委员会", True)


def test_indicator_departments_outside_the_vote_are_present_but_not_evaluable() -> None:
    for short_name in ("市国税局", "市地税局", "市银监局", "市农办"):
        dept = next(d for d in reference.departments() if d.short_name == short_name)
        assert not dept.evaluable


def test_offices_are_the_office_and_the_supervision_office() -> None:
    assert [(o.code, o.short_name) for o in reference.offices()] == [
        ("office", "市政府办公室"),
        ("supervision", "市政府督查室"),
    ]
    assert not any(o.evaluable for o in reference.offices())


def test_unknown_department_code_raises_unknown_reference() -> None:
    with pytest.raises(UnknownReference, match="unknown department code 'nope'") as info:
        reference.department("nope")
    assert isinstance(info.value, LookupError)
    assert (info.value.kind, info.value.code) == ("department", "nope")


def test_C5_every_department_has_a_vice_mayor_and_deputy_secretary_general_in_charge() -> None:
    for dept in reference.departments():
        assert reference.leader(dept.vice_mayor).role == "vice_mayor"
        assert reference.leader(dept.deputy_secretary_general).role == "deputy_secretary_general"


def test_leaders_are_role_placeholders_with_one_mayor() -> None:
    leaders = reference.leaders()
    assert [x.code for x in leaders if x.role == "mayor"] == ["mayor"]
    vice_mayors = [x for x in leaders if x.role == "vice_mayor"]
    assert 4 <= len(vice_mayors) <= 6
    assert all(x.code.startswith("vm-") and "副市长" in x.title for x in vice_mayors)
    assert all(x.code.startswith("dsg-") for x in leaders if x.role == "deputy_secretary_general")
    assert reference.leader("vm-industry").title == "副市长（分管工业）"


def test_eleven_cities_of_zhejiang_in_order() -> None:
    assert [c.short_name for c in reference.cities()] == [
        "杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水",
    ]  # fmt: skip
    assert reference.city("huzhou").name == "湖州市"
    with pytest.raises(UnknownReference, match="unknown city code 'shanghai'"):
        reference.city("shanghai")


def test_I1_catalogue_has_24_monthly_and_7_quarterly() -> None:
    assert len(reference.indicators("monthly")) == 24
    assert len(reference.indicators("quarterly")) == 7
    assert reference.indicators("annual") == ()
    assert len(reference.indicators()) == 31


def test_I1_catalogue_names_follow_the_seed() -> None:
    monthly = reference.indicators("monthly")
    quarterly = reference.indicators("quarterly")
    assert (monthly[0].name, monthly[-1].name) == ("财政总收入", "设区市PM2.5平均浓度")
    assert (quarterly[0].name, quarterly[-1].name) == ("地区生产总值", "农村居民人均可支配收入")
    assert "省对市党政领导班子实绩考核评价办法" in reference.annual_assessment_scope()


def test_I1_responsible_departments_lead_first() -> None:
    assert reference.indicator("fiscal-revenue-total").responsible_departments == ("czj", "gsj")
    assert reference.indicator("npl-ratio").lead_department == "jrb"
    assert reference.indicator("agriculture-value-added").responsible_departments == ("nyj", "lyj")
    assert reference.indicator("rural-disposable-income-per-capita").lead_department == "nb"


def test_I2_attributes_and_direction_from_the_seed() -> None:
    npl = reference.indicator("npl-ratio")
    assert (npl.attribute, npl.attribute_label) == ("absolute_low", "绝对值低排位")
    assert not npl.higher_is_better
    aqi = reference.indicator("aqi-good-days-ratio")
    assert (aqi.attribute, aqi.unit, aqi.higher_is_better) == ("yoy_points", "百分点", True)
    pm25 = reference.indicator("pm25-average-concentration")
    assert (pm25.attribute, pm25.attribute_label, pm25.higher_is_better) == ("yoy_decline", "同比降幅", True)
    others = [i for i in reference.indicators() if i.code not in {npl.code, aqi.code, pm25.code}]
    assert all(i.attribute == "yoy_growth" for i in others)


def test_E1_panel_quotas_sum_to_100() -> None:
    quotas = [c.quota for c in reference.panel_categories()]
    assert quotas == [2, 3, 37, 3, 3, 3, 3, 10, 10, 20, 6]
    assert sum(quotas) == reference.panel_total() == 100


def test_E1_local_categories_split_4_4_1_1_by_district() -> None:
    names = {d.code: d.name for d in reference.districts()}
    split = {
        c.code: [(names[q.district], q.quota) for q in c.district_quotas]
        for c in reference.panel_categories()
        if c.district_quotas
    }
    expected = [("吴兴区", 4), ("南浔区", 4), ("湖州开发区", 1), ("太湖度假区", 1)]
    assert split == {"township-heads": expected, "village-community-leaders": expected}


def test_E1_entrepreneurs_are_named_by_the_economy_and_information_commission() -> None:
    entrepreneurs = next(c for c in reference.panel_categories() if c.name == "市本级企业家")
    assert (entrepreneurs.quota, entrepreneurs.coordinator_department) == (20, "jxw")
    assert entrepreneurs.rotation == "required"


def test_E1_eight_consideration_factors() -> None:
    factors = reference.consideration_factors()
    assert [f.seq for f in factors] == list(range(1, 9))
    assert "保五争三" in factors[0].text
    assert "55件重大事项" in factors[1].text
    assert "最多跑一次" in factors[2].text
    assert factors[-1].text == "行政效能方面存在其他问题的"


def test_E4_designation_notified_to_four_leadership_bodies_counties_and_departments() -> None:
    recipients = reference.designation_recipients()
    assert [r.name for r in recipients if r.kind == "leadership_body"] == [
        "市委领导", "市人大常委会领导", "市政府领导", "市政协领导",
    ]  # fmt: skip
    assert [r.name for r in recipients if r.kind != "leadership_body"] == ["各县区政府", "市级各部门和单位"]


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        reference.department("fgw").evaluable = False  # type: ignore[misc]


def test_load_is_cached() -> None:
    assert reference.reference_data() is reference.reference_data()


def test_duplicate_department_code_is_refused() -> None:
    data = _data()
    data["departments"]["departments"][1]["code"] = "fgw"
    with pytest.raises(ValidationError, match=r"duplicate department code: \['fgw'\]"):
        ReferenceData.model_validate(data)


def test_unresolved_indicator_department_is_refused() -> None:
    data = _data()
    data["indicators"]["indicators"][0]["responsible_departments"] = ["czj", "nope"]
    with pytest.raises(ValidationError, match=r"unknown responsible departments \['nope'\]"):
        ReferenceData.model_validate(data)


def test_department_led_by_a_deputy_secretary_general_as_vice_mayor_is_refused() -> None:
    data = _data()
    data["departments"]["departments"][0]["vice_mayor"] = "dsg-economy"
    with pytest.raises(ValidationError, match="is a deputy_secretary_general, not a vice_mayor"):
        ReferenceData.model_validate(data)


def test_wrong_evaluable_count_is_refused() -> None:
    data = _data()
    data["departments"]["departments"][0]["evaluable"] = False
    with pytest.raises(ValidationError, match="37 departments are marked evaluable, expected 38"):
        ReferenceData.model_validate(data)


def test_missing_indicator_is_refused() -> None:
    data = _data()
    del data["indicators"]["indicators"][23]
    with pytest.raises(ValidationError, match="23 monthly indicators listed, expected 24"):
        ReferenceData.model_validate(data)


def test_panel_quotas_not_adding_up_are_refused() -> None:
    data = _data()
    data["evaluation"]["panel_categories"][0]["quota"] = 3
    with pytest.raises(ValidationError, match="quotas add up to 101, expected 100"):
        ReferenceData.model_validate(data)


def test_district_split_not_matching_quota_is_refused() -> None:
    data = _data()
    data["evaluation"]["panel_categories"][7]["district_quotas"][0]["quota"] = 5
    with pytest.raises(ValidationError, match="district quotas add up to 11, not its quota 10"):
        ReferenceData.model_validate(data)


def test_unknown_yaml_key_is_refused() -> None:
    data = _data()
    data["cities"]["cities"][0]["population"] = 1
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ReferenceData.model_validate(data)
