"""Converters for the real reference panels: UNDP HDR 2023/24, EPI 2020 and Gapminder.

The raw files are kept byte-identical and immutable under ``<data root>/raw/reference/``
(cookiecutter-data-science: raw data is never edited). Each panel's ``data/<name>/dataset.yaml``
names a loader here (``loader: assesskit.data.reference:load_hdr_2023``); the wide raw file
is converted to a :class:`~assesskit.data.model.Dataset` at load time, so no derived CSV is
committed. Every row the conversion leaves out is left out by a documented rule and listed in the
returned dataset's provenance text ("conversion log"); blank cells of the raw files are kept as
values that are present but missing (``NaN``), never dropped.

Loaders (one per dataset directory; they take the directory and return a Dataset):

- :func:`load_hdr_2023` - ``data/hdr-2023``: 195 countries, 1990..2022, HDI components
  (role ``indicator``), HDI and HDI rank (role ``reference``).
- :func:`load_epi_2020` - ``data/epi-2020``: 180 countries, period 2020, 32 leaf indicator scores
  (``indicator``), the published EPI, policy-objective and issue-category scores and all ranks
  (``reference``).
- :func:`load_gapminder` - ``data/gapminder``: 142 countries x 12 waves 1952..2007.

The converters :func:`read_hdr`, :func:`read_epi` and :func:`read_gapminder` take the raw file
paths directly; :func:`read_epi_weights` reads the EPI weight tree (indicator -> issue category ->
policy objective -> EPI) for building a scheme.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .model import Dataset

#: Folder of the raw reference files, relative to the data root.
RAW_REFERENCE = Path("raw") / "reference"
HDR_FILE = RAW_REFERENCE / "hdr" / "HDR23-24_Composite_indices_complete_time_series.csv"
EPI_RESULTS_FILE = RAW_REFERENCE / "epi2020" / "2020-epi-3_EPI_Results.csv"
#: The EPI 2020 weight tree (indicator -> issue category -> policy objective -> EPI).
EPI_WEIGHTS_FILE = RAW_REFERENCE / "epi2020" / "2020-epi-6_EPI_Weights.csv"
EPI_COUNTRIES_FILE = RAW_REFERENCE / "epi2020" / "2020-epi-7_EPI_Country_Attributes.csv"
EPI_INDICATORS_FILE = RAW_REFERENCE / "epi2020" / "2020-epi-8_EPI_Indicator_Attributes.csv"
GAPMINDER_FILE = RAW_REFERENCE / "gapminder" / "gapminder_1952_2007.csv"

#: Years of the HDR time series that are loaded.
HDR_YEARS = tuple(range(1990, 2023))
#: Rule that identifies the HDR aggregate rows (regions, development groups, world).
HDR_AGGREGATE_PREFIX = "ZZ"

_HDR_SOURCE = ("UNDP Human Development Report 2023/24, composite indices complete time series "
               "(HDR23-24_Composite_indices_complete_time_series.csv)")
# code, name, name_en, unit_of_measure, direction, role, description
_HDR_INDICATORS = (
    ("le", "出生时预期寿命", "Life expectancy at birth", "years", "higher", "indicator",
     "HDI health dimension. HDI goalposts 20 and 85 years (UNDP technical notes)."),
    ("eys", "预期受教育年限", "Expected years of schooling", "years", "higher", "indicator",
     "HDI education dimension. HDI goalposts 0 and 18 years (UNDP technical notes)."),
    ("mys", "平均受教育年限", "Mean years of schooling", "years", "higher", "indicator",
     "HDI education dimension (adults 25+). HDI goalposts 0 and 15 years (UNDP technical notes)."),
    ("gnipc", "人均国民总收入", "Gross national income (GNI) per capita", "2017 PPP $", "higher",
     "indicator", "HDI income dimension, on a log scale between the goalposts 100 and 75,000 "
                  "2017 PPP $ (UNDP technical notes)."),
    ("hdi", "人类发展指数", "Human Development Index (HDI)", "index 0-1", "higher", "reference",
     "Published HDI: geometric mean of the health index (le-20)/(85-20), the education index "
     "mean(eys/18, mys/15) and the income index (ln gnipc - ln 100)/(ln 75000 - ln 100) "
     "(UNDP technical notes)."),
    ("hdi_rank", "人类发展指数排名", "HDI rank (2022)", "rank (1 = highest HDI)", "lower",
     "reference", "Published HDI rank of the 2022 HDI; only period 2022."),
)

_EPI_SOURCE = ("Yale Center for Environmental Law & Policy and CIESIN, Environmental Performance "
               "Index 2020 (2020-epi-3_EPI_Results.csv)")
# Chinese names of the EPI 2020 codes (the English names come from the EPI files).
_EPI_NAMES_ZH = {
    "EPI": "环境绩效指数", "HLT": "环境健康", "ECO": "生态系统活力",
    "AIR": "空气质量", "H2O": "卫生设施与饮用水", "HMT": "重金属", "WMG": "废物管理",
    "BDH": "生物多样性与栖息地", "ECS": "生态系统服务", "FSH": "渔业", "CCH": "气候变化",
    "APE": "污染物排放", "AGR": "农业", "WRS": "水资源",
    "PMD": "PM2.5暴露", "HAD": "家庭固体燃料", "OZD": "臭氧暴露", "USD": "不安全卫生设施",
    "UWD": "不安全饮用水", "PBD": "铅暴露", "MSW": "受控固体废物",
    "TBN": "陆地生物群落保护（国家权重）", "TBG": "陆地生物群落保护（全球权重）",
    "MPA": "海洋保护区", "PAR": "保护区代表性指数", "SHI": "物种栖息地指数",
    "SPI": "物种保护指数", "BHV": "生物多样性栖息地指数", "TCL": "林木覆盖损失",
    "GRL": "草地损失", "WTL": "湿地损失", "FSS": "鱼类种群状况", "RMS": "海洋营养指数",
    "FGT": "拖网捕捞渔获", "CDA": "二氧化碳调整排放增长率", "CHA": "甲烷调整排放增长率",
    "FGA": "含氟气体调整排放增长率", "NDA": "氧化亚氮调整排放增长率",
    "BCA": "黑碳调整排放增长率", "LCB": "土地覆被二氧化碳排放增长率",
    "GIB": "温室气体排放强度增长率", "GHP": "人均温室气体排放",
    "SDA": "二氧化硫调整排放增长率", "NXA": "氮氧化物调整排放增长率",
    "SNM": "可持续氮管理指数", "WWT": "废水处理",
}

_GAPMINDER_SOURCE = "Gapminder extract 1952-2007 as in the R package gapminder (gapminder_1952_2007.csv)"
_GAPMINDER_INDICATORS = (
    ("lifeExp", "出生时预期寿命", "Life expectancy at birth", "years", "higher",
     "Life expectancy at birth, years."),
    ("pop", "人口", "Population", "persons", "higher",
     "Total population. A size variable, not a performance: 'higher' is only a convention here."),
    ("gdpPercap", "人均国内生产总值", "GDP per capita", "US$ (inflation-adjusted)", "higher",
     "GDP per capita, US$, inflation-adjusted (Gapminder)."),
)


# ---------------------------------------------------------------------------------- helpers
def _raw_path(dataset_dir: str | Path, relative: Path) -> Path:
    """``<data root>/<relative>`` where the data root is the parent of the dataset directory."""
    path = Path(dataset_dir).parent / relative
    if not path.is_file():
        raise DataError(Problem(
            f"raw reference file not found; the loader of {Path(dataset_dir).name!r} expects it "
            f"at <data root>/{relative.as_posix()} (copy it, byte-identical, from the project's "
            "shared reference data; see data/README.md)", file=str(path)))
    return path


def _yaml_provenance(dataset_dir: str | Path) -> str:
    """The ``provenance`` text of ``<dataset_dir>/dataset.yaml`` ("" if there is none)."""
    import yaml

    path = Path(dataset_dir) / "dataset.yaml"
    if not path.is_file():
        return ""
    meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str(meta.get("provenance", "")).strip()


def _read_raw_csv(path: Path, encodings: tuple[str, ...] = ("utf-8",)
                  ) -> tuple[pd.DataFrame, str, str]:
    """Read a raw CSV as text cells (blank = ""), trying ``encodings`` in order.

    Returns the frame, the encoding that worked and the file's SHA-256 (for the log).
    """
    import io

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        return frame, encoding, digest
    raise DataError(Problem(f"cannot decode the file with any of {', '.join(encodings)}; "
                            "save it in one of these encodings", file=str(path)))


def _require(frame: pd.DataFrame, columns: list[str], file: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(Problem(
            f"missing column(s) {', '.join(map(repr, missing))}; is this the right file? "
            f"(found {len(frame.columns)} columns starting {', '.join(frame.columns[:6])})",
            file=file))


def _numbers(frame: pd.DataFrame, columns: list[str], file: str) -> pd.DataFrame:
    """Numeric copy of ``columns``: blank cells -> NaN; any other unparseable cell -> DataError
    naming its file row (header = row 1) and column."""
    text = frame[columns].apply(lambda s: s.str.strip())
    numbers = text.apply(lambda s: pd.to_numeric(s, errors="coerce")).astype(float)
    bad = numbers.isna().to_numpy() & (text != "").to_numpy()
    problems = [
        Problem("not a number (leave the cell empty if the value is missing)", file, int(i) + 2,
                columns[j], text.iat[i, j])
        for i, j in zip(*np.nonzero(bad), strict=True)
    ]
    if problems:
        raise DataError(problems, title=f"{len(problems)} unreadable number(s) in {file}")
    return numbers


def _melt(numbers: pd.DataFrame, units: pd.Series, columns: dict[str, tuple[str, str]]
          ) -> pd.DataFrame:
    """Long values from wide ``numbers``; ``columns`` maps a raw column to (indicator, period).

    Rows are ordered unit (file order), then indicator and period in the order of ``columns``.
    Blank cells stay as NaN rows (present but missing), they are not dropped.
    """
    raw = list(columns)
    codes = [columns[c][0] for c in raw]
    periods = [columns[c][1] for c in raw]
    n = len(numbers)
    return pd.DataFrame({
        "unit": np.repeat(units.to_numpy(dtype=object), len(raw)),
        "period": np.tile(np.asarray(periods, dtype=object), n),
        "indicator": np.tile(np.asarray(codes, dtype=object), n),
        "value": numbers[raw].to_numpy(dtype=float).reshape(-1),
    })


def _log(provenance: str, lines: list[str], converter: str) -> str:
    head = f"Conversion log ({converter}):"
    body = "\n".join(f"- {line}" for line in lines)
    return f"{provenance}\n\n{head}\n{body}" if provenance else f"{head}\n{body}"


# ---------------------------------------------------------------------------------- HDR
def read_hdr(path: str | Path, *, provenance: str = "", label: str | None = None) -> Dataset:
    """Convert the UNDP HDR 2023/24 composite-indices time series to a Dataset.

    Parameters
    ----------
    path : str or Path
        ``HDR23-24_Composite_indices_complete_time_series.csv`` (wide, one row per country or
        aggregate; latin-1, or UTF-8 if it has been re-saved).
    provenance : str
        Text placed before the conversion log in the returned dataset's provenance.
    label : str, optional
        How the file is named in the log and in error messages (default: its file name).

    Returns
    -------
    Dataset
        Named ``"hdr-2023"``. Units: the countries (level ``country``, id = ISO3 code, group =
        UNDP region code, blank for countries UNDP assigns to none; subgroup = HDI group
        ``hdicode``). Indicators ``le``, ``eys``, ``mys``, ``gnipc`` (role ``indicator``),
        ``hdi`` and ``hdi_rank`` (role ``reference``). Periods 1990..2022 (``hdi_rank``: 2022
        only). Blank cells are kept as NaN values.

    Raises
    ------
    DataError
        If a needed column is missing, an ISO3 code is blank or a cell is not a number.

    Notes
    -----
    Aggregate rows (regions, HDI groups, world) are identified by the rule
    ``iso3.startswith("ZZ")`` (:data:`HDR_AGGREGATE_PREFIX`) and excluded; their codes and names
    are listed in the provenance's conversion log, as are the column families of the file that
    are not loaded (GDI, IHDI, GII, PHDI, ...).

    References
    ----------
    UNDP (2024). Human Development Report 2023/2024, Technical notes; data centre
    https://hdr.undp.org/data-center.
    """
    path = Path(path)
    file = label or path.name
    raw, encoding, digest = _read_raw_csv(path, ("utf-8", "latin-1"))
    families = [code for code, *_ in _HDR_INDICATORS if code != "hdi_rank"]
    wanted = {f"{fam}_{y}": (fam, str(y)) for fam in families for y in HDR_YEARS}
    _require(raw, ["iso3", "country", "hdicode", "region", *wanted], file)
    wanted["hdi_rank_2022"] = ("hdi_rank", "2022")
    if "hdi_rank_2022" not in raw.columns:
        del wanted["hdi_rank_2022"]
    iso3 = raw["iso3"].str.strip()
    blank = np.flatnonzero((iso3 == "").to_numpy())
    if len(blank):
        raise DataError([Problem("ISO3 code is empty; every row needs one", file, int(i) + 2,
                                 "iso3") for i in blank])

    is_aggregate = iso3.str.startswith(HDR_AGGREGATE_PREFIX)
    countries = raw[~is_aggregate.to_numpy()].reset_index(drop=True)
    aggregates = raw[is_aggregate.to_numpy()]
    units = pd.DataFrame({
        "unit": countries["iso3"].str.strip(),
        "name": countries["country"].str.strip(),
        "name_en": countries["country"].str.strip(),
        "level": "country",
        "parent": "",
        "group": countries["region"].str.strip(),
        "subgroup": countries["hdicode"].str.strip(),
    })
    indicators = pd.DataFrame(
        [dict(indicator=c, name=n, name_en=e, unit_of_measure=u, direction=d, description=desc,
              source=_HDR_SOURCE, role=r) for c, n, e, u, d, r, desc in _HDR_INDICATORS])
    numbers = _numbers(countries, list(wanted), file)
    values = _melt(numbers, units["unit"], wanted)

    loaded = {*families, "hdi_rank"}
    other = sorted({re.sub(r"_\d{4}$", "", c) for c in raw.columns[4:]} - loaded)
    excluded = "; ".join(f"{c.strip()} ({n.strip()})" for c, n in
                         zip(aggregates["iso3"], aggregates["country"], strict=True))
    lines = [
        f"read {file} (sha256 {digest}), decoded as {encoding}: {len(raw)} rows, "
        f"{len(raw.columns)} columns",
        f"kept {len(countries)} country rows as units (level country, id = iso3, group = UNDP "
        f"region, subgroup = hdicode); {int((units['group'] == '').sum())} countries have no UNDP "
        "region and an empty group",
        f"excluded {len(aggregates)} aggregate rows by the rule iso3 starts with "
        f"{HDR_AGGREGATE_PREFIX!r} (regions, HDI groups and the world are not countries): "
        f"{excluded}",
        f"loaded {', '.join(sorted(loaded))} for {HDR_YEARS[0]}..{HDR_YEARS[-1]} "
        "(hdi_rank: 2022 only); blank cells kept as missing values "
        f"({int(values['value'].isna().sum())} of {len(values)})",
        f"column families not loaded: {', '.join(other)}",
    ]
    return Dataset.from_frames(units, indicators, values, name="hdr-2023",
                               provenance=_log(provenance, lines, "read_hdr"),
                               sources=dict.fromkeys(("units", "indicators", "values"), file))


def load_hdr_2023(dataset_dir: str | Path) -> Dataset:
    """Loader of ``data/hdr-2023`` (named in its dataset.yaml): :func:`read_hdr` on the raw file.

    Parameters
    ----------
    dataset_dir : str or Path
        The dataset directory; the raw file is ``<its parent>/raw/reference/hdr/...``.

    Returns
    -------
    Dataset
        See :func:`read_hdr`; provenance = dataset.yaml's provenance + the conversion log.

    Examples
    --------
    >>> ds = load_hdr_2023("data/hdr-2023")  # doctest: +SKIP
    >>> float(ds.wide(2022).loc["NOR", "hdi"])  # doctest: +SKIP
    0.966
    """
    return read_hdr(_raw_path(dataset_dir, HDR_FILE), provenance=_yaml_provenance(dataset_dir),
                    label=HDR_FILE.as_posix())


# ---------------------------------------------------------------------------------- EPI
def read_epi_weights(path: str | Path) -> pd.DataFrame:
    """The EPI 2020 weight tree as a tidy table.

    Parameters
    ----------
    path : str or Path
        ``2020-epi-6_EPI_Weights.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``type`` (EPI, PolicyObjective, IssueCategory, Indicator), ``code``, ``name``,
        ``weight`` (float; NaN for the root), ``parent`` ("" for the root),
        ``materiality_filter`` (e.g. ``"SEA"``: the node does NOT apply to the countries whose
        unit attribute of that name is True - for SEA the 44 countries with little or no
        coastline, whose marine scores are blank), ``order``. Rows in the file's order.

    Notes
    -----
    Each node's score is the weighted mean of its children's scores with these weights (the
    weights of a node's children sum to 1), re-normalised over the children a country has.
    """
    path = Path(path)
    raw, _, _ = _read_raw_csv(path)
    cols = ["Type", "Abbreviation", "Variable", "Weight", "NextLevel", "MaterialityFilter", "Order"]
    _require(raw, cols, path.name)
    numbers = _numbers(raw, ["Weight", "Order"], path.name)
    return pd.DataFrame({
        "type": raw["Type"].str.strip(),
        "code": raw["Abbreviation"].str.strip(),
        "name": raw["Variable"].str.strip(),
        "weight": numbers["Weight"],
        "parent": raw["NextLevel"].str.strip(),
        "materiality_filter": raw["MaterialityFilter"].str.strip(),
        "order": numbers["Order"].astype(int),
    })


def read_epi(results: str | Path, countries: str | Path, indicator_attributes: str | Path,
             weights: str | Path, *, provenance: str = "", labels: dict[str, str] | None = None
             ) -> Dataset:
    """Convert the EPI 2020 results and attribute files to a Dataset.

    Parameters
    ----------
    results : str or Path
        ``2020-epi-3_EPI_Results.csv``: one row per country; ``<CODE>.new`` scores,
        ``<CODE>.change`` changes from baseline, ``<CODE>.rnk.new`` ranks.
    countries : str or Path
        ``2020-epi-7_EPI_Country_Attributes.csv`` (region and flags such as ``SEA``).
    indicator_attributes : str or Path
        ``2020-epi-8_EPI_Indicator_Attributes.csv`` (English names, raw units, targets).
    weights : str or Path
        ``2020-epi-6_EPI_Weights.csv`` (which codes are leaves and which are aggregates).
    provenance : str
        Text placed before the conversion log.
    labels : dict, optional
        Names of the four files in the log and in errors, keyed ``results``, ``countries``,
        ``indicator_attributes``, ``weights`` (default: file names).

    Returns
    -------
    Dataset
        Named ``"epi-2020"``, period ``"2020"``. Units: the countries of the results file (level
        ``country``, id = ISO3, group = EPI region; attributes ``epi_code`` and the boolean flags
        of the country attributes file, e.g. ``SEA``). Indicators: the leaf indicator scores
        (``PMD``, ``HAD``, ... role ``indicator``, 0-100, higher is better); the published
        aggregate scores ``EPI``, the policy objectives and issue categories (role
        ``reference``); and the published ranks ``<CODE>_rank`` of every code (role
        ``reference``, lower is better). Extra indicator columns ``epi_type``, ``epi_parent``,
        ``epi_weight``, ``materiality_filter`` carry the weight tree.

    Raises
    ------
    DataError
        If a file lacks a needed column, a country of the results has no attributes, a code of
        the weight tree has no score column, or a cell is not a number.

    Notes
    -----
    Blank score cells (e.g. marine indicators of landlocked countries) are kept as NaN values.
    The ``<CODE>.change`` columns are not loaded (listed in the log).

    References
    ----------
    Wendling, Z. A., Emerson, J. W., de Sherbinin, A., Esty, D. C., et al. (2020). 2020
    Environmental Performance Index. New Haven, CT: Yale Center for Environmental Law & Policy.
    https://epi.yale.edu
    """
    paths = {"results": Path(results), "countries": Path(countries),
             "indicator_attributes": Path(indicator_attributes), "weights": Path(weights)}
    label = {k: (labels or {}).get(k, p.name) for k, p in paths.items()}
    res, _, digest = _read_raw_csv(paths["results"])
    cty, _, _ = _read_raw_csv(paths["countries"])
    attr, _, _ = _read_raw_csv(paths["indicator_attributes"])
    tree = read_epi_weights(paths["weights"])
    _require(cty, ["iso", "region", "include"], label["countries"])
    _require(attr, ["Abbreviation", "Indicator", "Units", "Transformation", "Target_Good",
                    "Target_Bad"], label["indicator_attributes"])
    score_cols = {f"{c}.new": (c, "2020") for c in tree["code"]}
    rank_cols = {f"{c}.rnk.new": (f"{c}_rank", "2020") for c in tree["code"]}
    _require(res, ["code", "iso", "country", *score_cols, *rank_cols], label["results"])

    iso = res["iso"].str.strip()
    cty = cty.assign(iso=cty["iso"].str.strip()).drop_duplicates("iso").set_index("iso")
    unknown = np.flatnonzero(~iso.isin(cty.index).to_numpy())
    if len(unknown):
        raise DataError([Problem(f"country not in {label['countries']}; add its attributes",
                                 label["results"], int(i) + 2, "iso", iso[i]) for i in unknown])
    flags = [c for c in cty.columns if c not in ("code", "country", "region", "include")]
    attrs = cty.loc[iso.to_numpy()]
    units = pd.DataFrame({
        "unit": iso.to_numpy(),
        "name": res["country"].str.strip().to_numpy(),
        "name_en": res["country"].str.strip().to_numpy(),
        "level": "country",
        "parent": "",
        "group": attrs["region"].str.strip().to_numpy(),
        "subgroup": "",
        "epi_code": res["code"].str.strip().to_numpy(),
    })
    bad_flags = []
    for flag in flags:
        text = attrs[flag].str.strip()
        for i in np.flatnonzero(~text.isin(["True", "False"]).to_numpy()):
            bad_flags.append(Problem("flag must be True or False", label["countries"], None,
                                     flag, f"{iso[i]}: {text.iat[i]}"))
        units[flag] = (text == "True").to_numpy()
    if bad_flags:
        raise DataError(bad_flags)

    attr = attr.assign(Abbreviation=attr["Abbreviation"].str.strip()).set_index("Abbreviation")
    rows = []
    for node in tree.itertuples(index=False):
        leaf = node.type == "Indicator"
        name_en = node.name
        where = f"weight {node.weight:g} within {node.parent}" if node.parent else "the root"
        if leaf and node.code in attr.index:
            a = attr.loc[node.code]
            name_en = str(a["Indicator"]).strip()
            raw_units = str(a["Units"]).strip()
            transform = str(a["Transformation"]).strip() or "none"
            desc = (f"EPI 2020 indicator score 0-100 (100 = at the good target). Raw variable in "
                    f"{raw_units}; transformation {transform}; targets good {a['Target_Good']} / "
                    f"bad {a['Target_Bad']}; {where}.")
        elif leaf:
            desc = f"EPI 2020 indicator score 0-100; {where}."
        else:
            desc = (f"Published EPI 2020 {node.type} score 0-100: weighted mean of its children "
                    f"(2020-epi-6_EPI_Weights.csv); {where}.")
        if node.materiality_filter:
            desc += (f" Materiality filter {node.materiality_filter}: not applicable, and "
                     f"blank, for the countries whose {node.materiality_filter} flag is True "
                     "(for SEA: countries with little or no coastline).")
        common = dict(source=_EPI_SOURCE, epi_type=node.type, epi_parent=node.parent,
                      epi_weight=node.weight, materiality_filter=node.materiality_filter)
        rows.append(dict(indicator=node.code, name=_EPI_NAMES_ZH.get(node.code, name_en),
                         name_en=name_en, unit_of_measure="score 0-100", direction="higher",
                         description=desc, role="indicator" if leaf else "reference", **common))
        rows.append(dict(indicator=f"{node.code}_rank",
                         name=_EPI_NAMES_ZH.get(node.code, name_en) + "排名",
                         name_en=f"{name_en} rank", unit_of_measure="rank (1 = best)",
                         direction="lower", description=f"Published EPI 2020 rank of {node.code}.",
                         role="reference", **common))
    indicators = pd.DataFrame(rows)
    columns = {}
    for c in tree["code"]:
        columns[f"{c}.new"] = score_cols[f"{c}.new"]
        columns[f"{c}.rnk.new"] = rank_cols[f"{c}.rnk.new"]
    numbers = _numbers(res, list(columns), label["results"])
    values = _melt(numbers, units["unit"], columns)

    not_loaded = [c for c in res.columns[3:] if c not in columns]
    outside = sorted(set(cty.index[cty["include"].str.strip() == "True"]) - set(iso))
    lines = [
        f"read {label['results']} (sha256 {digest}): {len(res)} countries, {len(res.columns)} "
        "columns",
        f"units: the {len(units)} countries of the results file (id = iso, group = region of "
        f"{label['countries']}); the {len(cty) - len(units)} other rows of that file "
        "(include = False: not ranked in the EPI 2020) are not units"
        + (f"; included but missing from the results: {', '.join(outside)}" if outside else ""),
        f"indicators: {int((tree['type'] == 'Indicator').sum())} leaf indicator scores (role "
        f"indicator) and {int((tree['type'] != 'Indicator').sum())} published aggregate scores "
        f"(role reference) from the weight tree {label['weights']}, plus their {len(tree)} "
        "published ranks (<CODE>_rank, role reference)",
        f"blank cells kept as missing values ({int(values['value'].isna().sum())} of "
        f"{len(values)}), mostly marine indicators under the SEA materiality filter",
        f"columns not loaded: the {len(not_loaded)} change-from-baseline columns "
        f"({', '.join(not_loaded[:3])}, ...); several hold the text 'False' instead of numbers",
        f"weight tree for building a scheme: {label['weights']}",
    ]
    return Dataset.from_frames(units, indicators, values, name="epi-2020",
                               provenance=_log(provenance, lines, "read_epi"),
                               sources={"units": label["results"],
                                        "indicators": label["weights"],
                                        "values": label["results"]})


def load_epi_2020(dataset_dir: str | Path) -> Dataset:
    """Loader of ``data/epi-2020`` (named in its dataset.yaml): :func:`read_epi` on the raw files.

    Parameters
    ----------
    dataset_dir : str or Path
        The dataset directory; the raw files are ``<its parent>/raw/reference/epi2020/...``.

    Returns
    -------
    Dataset
        See :func:`read_epi`; provenance = dataset.yaml's provenance + the conversion log.
    """
    files = {"results": EPI_RESULTS_FILE, "countries": EPI_COUNTRIES_FILE,
             "indicator_attributes": EPI_INDICATORS_FILE, "weights": EPI_WEIGHTS_FILE}
    paths = {k: _raw_path(dataset_dir, f) for k, f in files.items()}
    return read_epi(**paths, provenance=_yaml_provenance(dataset_dir),
                    labels={k: f.as_posix() for k, f in files.items()})


# ---------------------------------------------------------------------------------- Gapminder
def read_gapminder(path: str | Path, *, provenance: str = "", label: str | None = None
                   ) -> Dataset:
    """Convert the Gapminder extract (long: country, continent, year, ...) to a Dataset.

    Parameters
    ----------
    path : str or Path
        ``gapminder_1952_2007.csv`` with columns country, continent, year, lifeExp, pop,
        gdpPercap.
    provenance : str
        Text placed before the conversion log.
    label : str, optional
        How the file is named in the log and in errors (default: its file name).

    Returns
    -------
    Dataset
        Named ``"gapminder"``. Units: the countries (level ``country``, id = Gapminder's country
        name, e.g. ``"Korea, Rep."``, group = continent), in file order. Indicators ``lifeExp``,
        ``pop``, ``gdpPercap``; periods = the years (1952, 1957, ..., 2007).

    Raises
    ------
    DataError
        If a column is missing, a country has more than one continent, or a cell is not a number.

    References
    ----------
    Bryan, J. (2017). gapminder: Data from Gapminder. R package; data from https://www.gapminder.org.
    """
    path = Path(path)
    file = label or path.name
    raw, _, digest = _read_raw_csv(path)
    codes = [c for c, *_ in _GAPMINDER_INDICATORS]
    _require(raw, ["country", "continent", "year", *codes], file)
    country = raw["country"].str.strip()
    continent = raw["continent"].str.strip()
    per_country = continent.groupby(country, sort=False).nunique()
    problems = [Problem("country appears with more than one continent; make them agree", file,
                        None, "continent", c) for c in per_country.index[per_country > 1]]
    years = pd.to_numeric(raw["year"].str.strip(), errors="coerce")
    problems += [Problem("year is not a whole number", file, int(i) + 2, "year", raw["year"][i])
                 for i in np.flatnonzero((years.isna() | (years % 1 != 0)).to_numpy())]
    if problems:
        raise DataError(problems)
    numbers = _numbers(raw, codes, file)
    first = ~country.duplicated()
    units = pd.DataFrame({
        "unit": country[first].to_numpy(), "name": country[first].to_numpy(),
        "name_en": country[first].to_numpy(), "level": "country", "parent": "",
        "group": continent[first].to_numpy(), "subgroup": "",
    })
    values = pd.DataFrame({
        "unit": np.repeat(country.to_numpy(dtype=object), len(codes)),
        "period": np.repeat(years.astype(int).astype(str).to_numpy(dtype=object), len(codes)),
        "indicator": np.tile(np.asarray(codes, dtype=object), len(raw)),
        "value": numbers[codes].to_numpy(dtype=float).reshape(-1),
    })
    indicators = pd.DataFrame(
        [dict(indicator=c, name=n, name_en=e, unit_of_measure=u, direction=d, description=desc,
              source=_GAPMINDER_SOURCE, role="indicator")
         for c, n, e, u, d, desc in _GAPMINDER_INDICATORS])
    lines = [
        f"read {file} (sha256 {digest}): {len(raw)} rows = {len(units)} countries x "
        f"{years.nunique()} years ({int(years.min())}..{int(years.max())})",
        "units: the countries, id = Gapminder's country name, group = continent; nothing excluded",
    ]
    return Dataset.from_frames(units, indicators, values, name="gapminder",
                               provenance=_log(provenance, lines, "read_gapminder"),
                               sources=dict.fromkeys(("units", "indicators", "values"), file))


def load_gapminder(dataset_dir: str | Path) -> Dataset:
    """Loader of ``data/gapminder`` (named in its dataset.yaml): :func:`read_gapminder`.

    Parameters
    ----------
    dataset_dir : str or Path
        The dataset directory; the raw file is ``<its parent>/raw/reference/gapminder/...``.

    Returns
    -------
    Dataset
        See :func:`read_gapminder`; provenance = dataset.yaml's provenance + the conversion log.
    """
    return read_gapminder(_raw_path(dataset_dir, GAPMINDER_FILE),
                          provenance=_yaml_provenance(dataset_dir),
                          label=GAPMINDER_FILE.as_posix())


#: The loaders a dataset folder may name in its ``dataset.yaml`` (``loader:``): nothing else is
#: ever imported or called from a data file.
LOADERS = {f.__name__: f for f in (load_hdr_2023, load_epi_2020, load_gapminder)}
