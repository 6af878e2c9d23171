"""Tests of the real reference panels (assesskit.data.reference): HDR 2023/24, EPI 2020,
Gapminder.

Every expected number is a literal read from the raw files with grep/awk (commands in the
comments), or worked out by hand from the published formula, never from the converter's output.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assesskit import datasets
from assesskit.data.model import Dataset
from assesskit.data.reference import (
    EPI_WEIGHTS_FILE,
    HDR_FILE,
    load_epi_2020,
    load_gapminder,
    load_hdr_2023,
    read_epi_weights,
    read_gapminder,
    read_hdr,
)
from assesskit.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "data"
RAW = DATA / "raw" / "reference"
# the project's shared/ folder sits beside the repository (in CI too)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"

# sha256sum of the raw files as copied from the project's shared reference data.
RAW_SHA256 = {
    "epi2020/2020-epi-3_EPI_Results.csv":
        "f28421774a90f3186ae9b75bf4e24d4ba0adcdea0651256b79629d11dd12484d",
    "epi2020/2020-epi-6_EPI_Weights.csv":
        "04d4c5c36805427ae3b5fa6df4be80c31002f4ed7d57c6d81bc45c2f687d9d6d",
    "epi2020/2020-epi-7_EPI_Country_Attributes.csv":
        "af76608469a77dd10ffae0ca8e253f9f5f8891a177de757d0aefa6b71977352a",
    "epi2020/2020-epi-8_EPI_Indicator_Attributes.csv":
        "ec40dc6e47b4373d73040e6c1afd5c3b20e4e1972c9177adad5156c4e88112b3",
    "gapminder/gapminder_1952_2007.csv":
        "7724a8821ac5da99266197fef26e8cdf4d24bc3ad34c12246a0840655ea03e22",
    "hdr/HDR23-24_Composite_indices_complete_time_series.csv":
        "7085032f67b682250de74488c74d2f7b9b674e3abc256ad1b008d4dac724056f",
}
# awk -F, 'NR>1 && $1 ~ /^ZZ/{print $1}' hdr/HDR23-24_...csv
HDR_AGGREGATES = ["ZZA.VHHD", "ZZB.HHD", "ZZC.MHD", "ZZD.LHD", "ZZE.AS", "ZZF.EAP", "ZZG.ECA",
                  "ZZH.LAC", "ZZI.SA", "ZZJ.SSA", "ZZK.WORLD"]


@pytest.fixture(scope="module")
def hdr() -> Dataset:
    return load_hdr_2023(DATA / "hdr-2023")


@pytest.fixture(scope="module")
def epi() -> Dataset:
    return load_epi_2020(DATA / "epi-2020")


@pytest.fixture(scope="module")
def gapminder() -> Dataset:
    return load_gapminder(DATA / "gapminder")


# ------------------------------------------------------------------ raw files
@pytest.mark.parametrize("relative, digest", sorted(RAW_SHA256.items()))
def test_raw_copies_are_unchanged(relative, digest):
    assert hashlib.sha256((RAW / relative).read_bytes()).hexdigest() == digest


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference folder not on this machine")
def test_raw_copies_are_byte_identical_to_the_shared_files():
    for relative in RAW_SHA256:
        assert (RAW / relative).read_bytes() == (SHARED / relative).read_bytes(), relative


@pytest.mark.parametrize("name, loader", [("hdr-2023", "load_hdr_2023"),
                                          ("epi-2020", "load_epi_2020"),
                                          ("gapminder", "load_gapminder")])
def test_dataset_yaml_names_the_loader_and_no_derived_csv_is_committed(name, loader):
    meta = yaml.safe_load((DATA / name / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["name"] == name and meta["kind"] == "real"
    assert meta["loader"] == f"assesskit.data.reference:{loader}"
    assert "Licence" in meta["provenance"]
    assert sorted(p.name for p in (DATA / name).iterdir()) == ["dataset.yaml"]


# ------------------------------------------------------------------ HDR
def test_hdr_units_are_the_195_countries(hdr):
    # awk -F, 'NR>1 && $1 !~ /^ZZ/' HDR23-24_...csv | wc -l  ->  195 (206 data rows - 11 ZZ)
    assert len(hdr.units) == 195
    assert (hdr.units["level"] == "country").all()
    assert not hdr.units["unit"].str.startswith("ZZ").any()
    assert not set(HDR_AGGREGATES) & set(hdr.values["unit"])


def test_hdr_excluded_aggregates_are_listed_in_the_provenance(hdr):
    assert "excluded 11 aggregate rows" in hdr.provenance
    for code in HDR_AGGREGATES:
        assert code in hdr.provenance
    assert "ZZK.WORLD (World)" in hdr.provenance


def test_hdr_names_decode_right(hdr):
    names = hdr.units.set_index("unit")["name"]
    # grep -a Ivoire: byte 0xF4 is "ô" in latin-1; read as UTF-8 it would fail or mis-decode.
    assert names["CIV"] == "Côte d'Ivoire"
    assert names["TUR"] == "Türkiye"
    assert not names.str.contains("\ufffd|Ã").any()  # no replacement chars, no mojibake


def test_hdr_published_values(hdr):
    w = hdr.wide(2022)
    # grep '^NOR,' HDR23-24_...csv: hdi_rank_2022 = 2 (col 5), hdi_2022 = 0.966 (col 38),
    # le_2022 = 83.393 (col 71), gnipc_2022 = 69189.76165 (col 170)
    assert w.loc["NOR", "hdi"] == 0.966
    assert w.loc["NOR", "hdi_rank"] == 2
    assert w.loc["NOR", "le"] == 83.393
    assert w.loc["NOR", "gnipc"] == 69189.76165
    # awk -F, '$1=="CIV"{print $5,$38}': rank 166, hdi 0.534
    assert w.loc["CIV", "hdi"] == 0.534 and w.loc["CIV", "hdi_rank"] == 166
    # grep '^NOR,': hdi_1990 = 0.845 (col 6)
    assert hdr.wide(1990).loc["NOR", "hdi"] == 0.845


def test_hdr_norway_2022_hdi_follows_from_its_components(hdr):
    # UNDP technical notes, by hand for Norway 2022 (le 83.393, eys 18.63846016 capped at 18,
    # mys 13.06234279, gnipc 69189.76165):
    #   health    = (83.393 - 20) / 65                         = 0.975277
    #   education = (18/18 + 13.06234279/15) / 2 = (1 + 0.870823) / 2 = 0.935411
    #   income    = ln(69189.76165/100) / ln(75000/100) = 6.539437 / 6.620073 = 0.987820
    #   HDI       = (0.975277 * 0.935411 * 0.987820) ** (1/3) = 0.901174 ** (1/3) = 0.96591
    # which rounds to the published 0.966.
    w = hdr.wide(2022).loc["NOR"]
    health = (w["le"] - 20) / 65
    education = (min(w["eys"], 18) / 18 + w["mys"] / 15) / 2
    income = math.log(w["gnipc"] / 100) / math.log(750)
    hdi = (health * education * income) ** (1 / 3)
    assert hdi == pytest.approx(0.96591, abs=5e-5)
    assert round(hdi, 3) == w["hdi"]


def test_hdr_indicators_periods_and_groups(hdr):
    ind = hdr.indicators.set_index("indicator")
    assert ind["role"].to_dict() == {"le": "indicator", "eys": "indicator", "mys": "indicator",
                                     "gnipc": "indicator", "hdi": "reference",
                                     "hdi_rank": "reference"}
    assert ind.loc["hdi_rank", "direction"] == "lower"
    assert hdr.periods == [str(y) for y in range(1990, 2023)]
    assert set(hdr.values[hdr.values["indicator"] == "hdi_rank"]["period"]) == {"2022"}
    # 195 countries x 33 years x 5 families + 195 ranks: every cell kept, blanks as NaN.
    assert len(hdr.values) == 195 * 33 * 5 + 195
    u = hdr.units.set_index("unit")
    # CIV row: hdicode Low, region SSA; NOR: Very High, no UNDP region (blank).
    assert (u.loc["CIV", "group"], u.loc["CIV", "subgroup"]) == ("SSA", "Low")
    assert (u.loc["NOR", "group"], u.loc["NOR", "subgroup"]) == ("", "Very High")
    # csv.reader(latin-1): 44 non-ZZ rows have an empty region column (4th).
    assert (u["group"] == "").sum() == 44


def _wide_hdr_file(path: Path, rows: list[dict], encoding: str) -> None:
    cols = ["iso3", "country", "hdicode", "region", "hdi_rank_2022"] + [
        f"{fam}_{y}" for fam in ("hdi", "le", "eys", "mys", "gnipc") for y in range(1990, 2023)]
    frame = pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], columns=cols)
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode(encoding))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_read_hdr_excludes_zz_rows_and_decodes_either_encoding(tmp_path, encoding):
    path = tmp_path / "hdr.csv"
    _wide_hdr_file(path, [
        {"iso3": "CIV", "country": "Côte d'Ivoire", "region": "SSA", "hdi_2022": "0.534"},
        {"iso3": "NOR", "country": "Norway", "hdi_2022": "0.966"},
        {"iso3": "ZZK.WORLD", "country": "World", "hdi_2022": "0.739"},
    ], encoding)
    ds = read_hdr(path)
    assert list(ds.units["unit"]) == ["CIV", "NOR"]
    assert ds.units["name"].iloc[0] == "Côte d'Ivoire"
    assert "excluded 1 aggregate rows" in ds.provenance and "ZZK.WORLD (World)" in ds.provenance
    assert ds.wide(2022).loc["NOR", "hdi"] == 0.966


def test_read_hdr_names_every_bad_cell(tmp_path):
    path = tmp_path / "hdr.csv"
    _wide_hdr_file(path, [{"iso3": "AAA", "country": "A", "le_2000": "n.a."},
                          {"iso3": "BBB", "country": "B", "gnipc_2022": "12 345"}], "utf-8")
    with pytest.raises(DataError) as err:
        read_hdr(path)
    cells = {(p.row, p.column, p.value) for p in err.value.problems}
    assert cells == {(2, "le_2000", "n.a."), (3, "gnipc_2022", "12 345")}


def test_read_hdr_missing_column_is_named(tmp_path):
    path = tmp_path / "hdr.csv"
    path.write_text("iso3,country,hdicode,region\nNOR,Norway,Very High,\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column.*'hdi_1990'"):
        read_hdr(path)


def test_loader_without_raw_file_says_where_it_looked(tmp_path):
    (tmp_path / "hdr-2023").mkdir()
    with pytest.raises(DataError, match=r"raw/reference/hdr/HDR23-24"):
        load_hdr_2023(tmp_path / "hdr-2023")


def test_loader_finds_raw_under_the_dataset_parent(tmp_path):
    (tmp_path / "hdr-2023").mkdir()
    target = tmp_path / HDR_FILE
    target.parent.mkdir(parents=True)
    shutil.copyfile(RAW / "hdr" / HDR_FILE.name, target)
    ds = load_hdr_2023(tmp_path / "hdr-2023")  # no dataset.yaml: log only
    assert ds.provenance.startswith("Conversion log") and len(ds.units) == 195


# ------------------------------------------------------------------ EPI
def test_epi_units_are_180_countries_with_regions(epi):
    # wc -l 2020-epi-3_EPI_Results.csv -> 181 lines = header + 180 countries
    assert len(epi.units) == 180 and (epi.units["level"] == "country").all()
    u = epi.units.set_index("unit")
    # 2020-epi-7: "4,AFG,Afghanistan,Southern Asia,True,True,..." and
    # "8,ALB,Albania,Eastern Europe,True,False,...": region, include, SEA
    assert u.loc["AFG", "group"] == "Southern Asia" and u.loc["ALB", "group"] == "Eastern Europe"
    assert u.loc["AFG", "SEA"] and not u.loc["ALB", "SEA"]
    # SEA = True marks the countries the marine indicators do not apply to (materiality
    # filter): exactly they have a blank MPA score (44 blanks in the MPA.new column).
    mpa_blank = epi.wide(2020)["MPA"].isna().reindex(u.index)
    assert u["SEA"].sum() == 44 and (u["SEA"] == mpa_blank).all()
    assert u.loc["CIV", "name"] == "Cote d'Ivoire"  # the EPI spells it without the accent
    # 2020-epi-7 lists 220 rows; 40 have include = False and are not units
    assert "the 40 other rows" in epi.provenance


def test_epi_indicators_roles(epi):
    ind = epi.indicators.set_index("indicator")
    leaves = ind[ind["role"] == "indicator"]
    # 2020-epi-6_EPI_Weights.csv: 32 rows of Type Indicator
    assert len(leaves) == 32 and (leaves["epi_type"] == "Indicator").all()
    assert {"PMD", "HAD", "OZD", "USD", "UWD", "WWT", "SNM"} <= set(leaves.index)
    assert leaves.loc["PMD", "name_en"] == "PM2.5 exposure"  # from 2020-epi-8
    assert leaves.loc["USD", "name_en"] == "Unsafe sanitation"  # trailing space stripped
    ref = ind[ind["role"] == "reference"]
    assert {"EPI", "HLT", "ECO", "AIR", "CCH", "EPI_rank", "PMD_rank"} <= set(ref.index)
    assert len(ref) == 14 + 46  # 14 aggregates + a rank for each of the 46 codes
    assert (ind.loc[[c for c in ind.index if c.endswith("_rank")], "direction"] == "lower").all()
    assert epi.periods == ["2020"]


def test_epi_published_values(epi):
    w = epi.wide(2020)
    # grep ',DNK,' 2020-epi-3: EPI.new 82.5, HLT.new 91.7, ECO.new 76.4, EPI.rnk.new 1
    assert w.loc["DNK", "EPI"] == 82.5 and w.loc["DNK", "EPI_rank"] == 1
    # CHN: EPI.new 37.3, rank 120; USA: 69.3, rank 24
    assert (w.loc["CHN", "EPI"], w.loc["CHN", "EPI_rank"]) == (37.3, 120)
    assert (w.loc["USA", "EPI"], w.loc["USA", "EPI_rank"]) == (69.3, 24)
    # AFG row: TBN 0.6, TBG 1.3, MPA blank (landlocked: SEA materiality filter)
    assert w.loc["AFG", "TBN"] == 0.6 and w.loc["AFG", "TBG"] == 1.3
    assert np.isnan(w.loc["AFG", "MPA"])


def test_epi_denmark_epi_follows_from_its_pillars(epi):
    # EPI = 0.4 HLT + 0.6 ECO (weights file): 0.4 * 91.7 + 0.6 * 76.4 = 36.68 + 45.84 = 82.52,
    # published (rounded to 0.1) as 82.5.
    w = epi.wide(2020).loc["DNK"]
    assert 0.4 * w["HLT"] + 0.6 * w["ECO"] == pytest.approx(82.52, abs=1e-9)
    assert abs(0.4 * w["HLT"] + 0.6 * w["ECO"] - w["EPI"]) <= 0.05 + 1e-9


def test_epi_weight_tree():
    tree = read_epi_weights(RAW / EPI_WEIGHTS_FILE.relative_to("raw/reference"))
    assert len(tree) == 46 and tree.iloc[0]["code"] == "EPI" and tree.iloc[0]["parent"] == ""
    # children of every node sum to 1, e.g. AIR: PMD 0.55 + HAD 0.4 + OZD 0.05 = 1
    sums = tree[tree["parent"] != ""].groupby("parent")["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    air = tree[tree["parent"] == "AIR"].set_index("code")["weight"].to_dict()
    assert air == {"PMD": 0.55, "HAD": 0.4, "OZD": 0.05}
    assert set(tree[tree["materiality_filter"] == "SEA"]["code"]) == {"MPA", "FSH", "FSS", "RMS",
                                                                       "FGT"}


def test_epi_change_columns_are_reported_not_silently_dropped(epi):
    assert "46 change-from-baseline columns" in epi.provenance
    assert "2020-epi-6_EPI_Weights.csv" in epi.provenance


# ------------------------------------------------------------------ Gapminder
def test_gapminder_is_142_countries_by_12_waves(gapminder):
    assert len(gapminder.units) == 142
    assert gapminder.periods == [str(y) for y in range(1952, 2008, 5)]
    assert len(gapminder.values) == 142 * 12 * 3
    assert gapminder.values.groupby("indicator").size().to_dict() == {
        "gdpPercap": 1704, "lifeExp": 1704, "pop": 1704}
    # awk -F, 'NR>1{print $2}' | sort | uniq -c, divided by 12 waves
    assert gapminder.units["group"].value_counts().to_dict() == {
        "Africa": 52, "Asia": 33, "Europe": 30, "Americas": 25, "Oceania": 2}


def test_gapminder_values(gapminder):
    # grep '^Norway' gapminder_1952_2007.csv | tail -1 -> Norway,Europe,2007,80.196,4627926,...
    w = gapminder.wide(2007)
    assert w.loc["Norway", "lifeExp"] == 80.196 and w.loc["Norway", "pop"] == 4627926
    # Afghanistan,Asia,1952,28.801,8425333,779.4453145
    assert gapminder.wide(1952).loc["Afghanistan", "gdpPercap"] == 779.4453145
    assert "Korea, Rep." in set(gapminder.units["unit"])


def test_gapminder_country_with_two_continents_is_an_error(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("country,continent,year,lifeExp,pop,gdpPercap\n"
                    "A,Asia,1952,30,100,500\nA,Europe,1957,31,110,510\n", encoding="utf-8")
    with pytest.raises(DataError, match="more than one continent"):
        read_gapminder(path)


# ------------------------------------------------------------------ registry
@pytest.mark.parametrize("name, units", [("hdr-2023", 195), ("epi-2020", 180),
                                         ("gapminder", 142)])
def test_registry_loads_the_reference_panels(name, units):
    assert name in datasets.list()
    ds = datasets.load(name)
    assert ds.name == name and len(ds.units) == units
    assert "Conversion log" in ds.provenance and "REAL" in ds.provenance
