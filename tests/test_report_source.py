"""Every report names the document a scheme comes from by that document's own title.

The expected titles are copied from the documents themselves (``/work/shared/seeds/``, the
article or bulletin headline; UNDP's report), not from the schemes: the Jincheng article's
headline is 山西晋城：构建“1+4”考核体系 激发高质量发展“新动能” (中新网山西, 2023-06-06), not the
scheme's own title 晋城市“1+4”考核评价体系. The Dingxi article kept has no headline: the report
says so instead of showing the scheme's title as if it were the source's.
"""

from __future__ import annotations

import pytest

import assesskit as ak
from assesskit.errors import SchemeError
from assesskit.report import render
from assesskit.report.context import candidate_periods, example_data, report_context
from assesskit.report.sections import AnnualPage

SOURCE_TITLES = {
    "sichuan-39": "《2024年度39个欠发达县域托底性帮扶工作考核评价实施方案》",
    "jincheng-1plus4": "《山西晋城：构建“1+4”考核体系 激发高质量发展“新动能”》",
    "jiange-five-musts": "《剑阁县“五个必须”强化脱贫攻坚硬约束》",
    "yingshan-first-secretaries": "《营山县实行“双述双评”精准考核贫困村第一书记》",
    "yingshan-sending-units": "《营山县实行“双述双评”精准考核贫困村第一书记》",
    "undp-hdi": "Human Development Report 2023/2024, Technical notes",
    "dingxi": "无标题新闻报道 untitled news report",
}
SOURCE_DETAILS = {
    "sichuan-39": "as reported by 四川在线, 2024-04-23",
    "jincheng-1plus4": "(中新网山西, 2023-06-06)",
    "jiange-five-musts": "《脱贫攻坚简报》2016年第34期, 2016-03-09",
    "yingshan-first-secretaries": "《脱贫攻坚简报》2016年第34期, 2016-03-09",
    "yingshan-sending-units": "《脱贫攻坚简报》2016年第34期, 2016-03-09",
    "undp-hdi": "United Nations Development Programme",
    "dingxi": "记者 丁陆军",
}


def test_every_builtin_scheme_is_covered():
    assert set(SOURCE_TITLES) == set(ak.builtin_schemes())


@pytest.mark.parametrize("name", sorted(SOURCE_TITLES))
def test_the_report_header_names_the_source_by_its_title(name):
    scheme = ak.load_scheme(name)
    shown = render.source_document(scheme)
    assert shown.startswith(SOURCE_TITLES[name]) and SOURCE_DETAILS[name] in shown
    assert ".txt" not in shown and "seed" not in shown
    # the scheme's own title is not its source's
    assert SOURCE_TITLES[name].strip("《》") != str(scheme.spec["title"]).split(" (")[0]
    data = example_data(name)
    period = candidate_periods(report_context(name, data).scheme, report_context(name, data).data)[-1]
    facts = AnnualPage(name, data, period).header_facts().data
    line = next(x for x in facts.splitlines() if "Source document" in x)
    assert SOURCE_TITLES[name] in line


def test_the_one_line_form_still_loads_and_never_falls_back_to_the_scheme_title():
    spec = ak.load_scheme("jincheng-1plus4").spec
    old = {**spec, "source": "seed 001_af3e8305798db601.txt: 山西晋城：构建“1+4”考核体系 "
                             "激发高质量发展“新动能” (中新网山西, 2023-06-06)"}
    shown = render.source_document(ak.load_scheme(old))
    assert shown == "山西晋城：构建“1+4”考核体系 激发高质量发展“新动能” (中新网山西, 2023-06-06)"
    with_title = {**spec, "source": "seed x.txt: 《某某方案》 as reported by 某报, 2024-01-02"}
    assert render.source_document(ak.load_scheme(with_title)) == \
        "《某某方案》 (as reported by 某报, 2024-01-02)"


def test_a_source_mapping_is_checked_at_load():
    spec = ak.load_scheme("jincheng-1plus4").spec
    with pytest.raises(SchemeError, match=r"unknown key\(s\) \['titel'\] in source"):
        ak.load_scheme({**spec, "source": {"titel": "x"}})
    with pytest.raises(SchemeError, match="source.title"):
        ak.load_scheme({**spec, "source": {"publisher": "某报"}})
    import datetime

    dated = ak.load_scheme({**spec, "source": {"title": "标题", "date": datetime.date(2023, 6, 6)}})
    assert render.source_document(dated) == "《标题》 (2023-06-06)"
