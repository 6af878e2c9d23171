"""Seeded synthetic data for two procedures of seed 002: Yingshan's "双述双评" and Jiange's "五个必须".

Both datasets are **synthetic**: generated here, documented, rebuilt byte for byte by
``python -m assesskit.data.synthetic_review`` (``tests/test_synthetic_review.py`` compares the
bytes). What is real: the two counties (营山县 511322, 剑阁县 510823; names and codes from the
shared Sichuan data), the procedures and every rule quoted from the source. Township, village,
department and person names are illustrative (示例…); the shared data lists no township of
either county, so no real township name is used.

Yingshan (``data/yingshan``, period 2015, :func:`yingshan_review`)
-------------------------------------------------------------------
Units: the county; 20 townships ``YT01``..``YT20`` in four areas (片区一..四, the groups in which the
secretaries who are not drawn report: 分组述职); 24 sending units ``YD01``..``YD24`` (派出单位,
level ``department``: county departments that sent a first secretary, each sending 2 or 3); 60
first secretaries ``YS01``..``YS60`` (level ``official``), three per township, each with a
``sending_unit`` and a known ``latent_performance`` θ ~ N(0, 1) (standardised). ``YS17`` is weak
by construction (θ = −2.8): with the built-in scheme's points and thresholds they are graded
不称职, so the consequence on their sending unit ``YD05`` is exercised.

Raters (``truth_raters.csv``, the generator's truth; not read by the loader):

=================  ======================  ===============  =====================  =========
group              who                      group leniency   rater leniency sd      noise sd
=================  ======================  ===============  =====================  =========
``team``           考核组成员 T01..T06        0                0.15                   0.45
``township_leaders`` 乡镇分管领导 L01..L20     +0.25            0.20                   0.55
``peers``          the other secretaries    +0.50            0.25                   0.65
=================  ======================  ===============  =====================  =========

(leniency and noise in grade steps; one step is 20 points under the built-in scheme's 100/80/60/40
points per grade). Fellow secretaries are the most lenient ("战友" rating each other).

Sessions: ``K_DRAWN = 15`` secretaries are drawn for the plenary with ``DRAW_SEED`` by the
engine's own draw (:func:`assesskit.data.ratings.draw_reporters`, which the engine uses), so the data fit the
scheme's seeded draw; the others report in their area's group session. The team rates every
session; a township leader the plenary and their own area's session; a secretary the session
they reported in.

Grades: for ratee i, rater r (group g), aspect a,
``y = 1.9 + 0.55·(θ_i + δ_ia) + λ_g + λ_r + e_ir + e_ira``, with the aspect deviation
δ_ia ~ N(0, 0.3), a sheet effect e_ir ~ N(0, (0.5 σ_g)²) and e_ira ~ N(0, (0.85 σ_g)²); the grade
is ``round(y)`` clipped to 0..3 (差, 一般, 较好, 好). Planted irregularities (each exercises a
rule): ``L07`` rates everyone 较好 on every aspect (an identical rater); three secretaries rate
themselves (好 on every aspect; excluded by the self-rating rule); two peer sheets and one team
sheet are absent; one sheet lacks one aspect.

Values: the sending units' own annual target assessment (目标考核), two indicators
``dept_key_tasks`` (% of key tasks completed) and ``dept_service_rating`` (0–100), driven by a
latent capacity.

Jiange (``data/jiange``, period 2016, :func:`jiange_musts`)
-------------------------------------------------------------
30 townships ``JG01``..``JG30`` with the facts each "must" checks (see :data:`JIANGE_INDICATORS`);
monthly facts (study sessions, filed records, supervision visits) at periods 2016-01..2016-12
with their annual counts at 2016. Failures by construction (:data:`JIANGE_FAILURES`); every
other township passes every must with a margin. Two scored indicators (``households_lifted``,
``villages_exited``) let the musts combine with a scored scheme.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .ratings import draw_reporters

_REPO_DATA = Path(__file__).resolve().parents[2] / "data"

YINGSHAN_SEED = 20160309
#: Seed and size of the plenary draw; the built-in scheme yingshan-first-secretaries
#: uses the same (a test checks it).
DRAW_SEED = 20160309
K_DRAWN = 15
JIANGE_SEED = 20160310
YINGSHAN_PERIOD = "2015"
JIANGE_PERIOD = "2016"

GRADES = ["好", "较好", "一般", "差"]  # best first

#: Aspect code -> (name, where it comes from).
ASPECTS = {
    "overall": ("总体评价", "named by the source as a rating aspect"),
    "first_duty": ("履行第一责任人职责", "named by the source as a rating aspect"),
    "organisation": ("建强基层组织", "named by the source as a rating aspect"),
    "targeted_poverty": ("推动精准扶贫", "a required report topic in the source (述职内容), "
                         "ILLUSTRATIVE as a rating aspect"),
    "service": ("为民办事服务", "a required report topic in the source, ILLUSTRATIVE as a "
                "rating aspect"),
    "governance": ("提升治理水平", "a required report topic in the source, ILLUSTRATIVE as a "
                   "rating aspect"),
    "infrastructure": ("推动基础设施建设", "a plenary report topic in the source, ILLUSTRATIVE "
                       "as a rating aspect"),
    "conduct": ("工作作风", "INVENTED: the source names only 3 of its 8 aspects"),
}

#: Rater group -> (label, group leniency, rater leniency sd, noise sd), in grade steps.
RATER_GROUPS = {
    "team": ("考核组成员", 0.0, 0.15, 0.45),
    "township_leaders": ("乡镇分管领导", 0.25, 0.20, 0.55),
    "peers": ("参加述职的其他第一书记", 0.50, 0.25, 0.65),
}
WEAK_SECRETARY = "YS17"
WEAK_THETA = -2.8
IDENTICAL_RATER = "L07"
SELF_RATERS = ("YS04", "YS33", "YS52")

_DEPARTMENTS = [
    "县委办公室", "县政府办公室", "县委组织部", "县委宣传部", "县发展和改革局", "县财政局",
    "县教育局", "县卫生和计划生育局", "县农业局", "县林业局", "县水务局", "县交通运输局",
    "县住房和城乡建设局", "县国土资源局", "县民政局", "县人力资源和社会保障局", "县商务局",
    "县扶贫和移民工作局", "县环境保护局", "县文化广电新闻出版局", "县公安局", "县人民法院",
    "县农村信用联社", "县供电公司",
]
_AREAS = ["片区一", "片区二", "片区三", "片区四"]

#: Jiange indicators: code -> (name, unit of measure, must, description, decimals).
JIANGE_INDICATORS = {
    "joint_leaders": ("党委书记、乡镇长任双组长", "1 = yes", "staffing",
                      "1 if the poverty-alleviation leading group has the Party secretary and the "
                      "township head as joint leaders (双组长)", 0),
    "member_in_charge": ("专职分管班子成员", "1 = yes", "staffing",
                         "1 if one Party-committee member is in charge full time, confirmed by a "
                         "document of the county organisation department", 0),
    "fulltime_staff": ("专职工作人员", "persons", "staffing",
                       "full-time poverty-alleviation staff (the source: 1-2)", 0),
    "office_staff": ("脱贫攻坚办公室人员", "persons", "staffing",
                     "staff seconded to the poverty-alleviation office (the source: 3-5)", 0),
    "study_sessions": ("专题研究次数", "sessions", "monthly_study",
                       "study sessions on poverty alleviation held in the month (monthly rows) "
                       "or the year (annual row)", 0),
    "study_records_filed": ("专题报告备案", "1 = filed", "monthly_study",
                            "1 if the month's written report was filed with the county office "
                            "(monthly rows); annual row: months filed", 0),
    "months_studied": ("开展专题研究的月数", "months", "monthly_study",
                       "months of the year with at least one study session (from the monthly "
                       "rows)", 0),
    "months_recorded": ("专题报告备案的月数", "months", "monthly_study",
                        "months of the year with a filed report (from the monthly rows)", 0),
    "households_met_midyear": ("建卡贫困户见面率（半年）", "%", "households_met",
                               "share of registered poor households met in person by the Party "
                               "secretary, the township head and the leader in charge, mid-year "
                               "check", 1),
    "households_met_yearend": ("建卡贫困户见面率（年终）", "%", "households_met",
                               "the same share at the year-end check", 1),
    "poor_villages": ("贫困村数", "villages", "funds", "registered poor villages", 0),
    "agri_funds_share_poor": ("涉农项目资金投向贫困村比重", "%", "funds",
                              "share of agriculture-related project funds spent in the township "
                              "that went to its poor villages (the source sets >= 50% per "
                              "department; modelled per township)", 1),
    "gov_input_min_per_poor_village": ("贫困村政府性投入（最低村）", "10k yuan", "funds",
                                       "government input in the township's poor village with "
                                       "the least of it (the source: >= 500 per poor village)",
                                       0),
    "total_input_min_per_village": ("村均总投入（最低村）", "10k yuan", "funds",
                                    "total input incl. social funds and labour in the poor "
                                    "village with the least (the source: >= 1000 per village)",
                                    0),
    "supervision_visits": ("常态化督查次数", "visits", "supervision",
                           "routine supervision visits received in the month (monthly rows) or "
                           "the year (annual row)", 0),
    "odd_months_covered": ("单月全覆盖督查月数", "months", "supervision",
                           "odd months (1, 3, ..., 11) with a full-coverage supervision visit "
                           "(from the monthly rows; the source: every odd month)", 0),
    "households_lifted": ("年度减贫任务完成率", "% of target", "scored",
                          "poor households lifted out of poverty, % of the year's target", 1),
    "villages_exited": ("贫困村退出完成率", "% of target", "scored",
                        "poor villages exiting poverty, % of the year's plan", 1),
}
MONTHLY = ("study_sessions", "study_records_filed", "supervision_visits")

#: Township -> facts set by construction so that these musts fail.
JIANGE_FAILURES = {
    "JG03": {"fulltime_staff": 0},                                    # staffing
    "JG07": {"office_staff": 2},                                      # staffing
    "JG11": {"no_study_months": (4, 8)},                              # monthly_study
    "JG14": {"unfiled_months": (6,)},                                 # monthly_study
    "JG18": {"households_met_yearend": 96.5},                         # households_met
    "JG21": {"agri_funds_share_poor": 42.0, "gov_input_min_per_poor_village": 450},  # funds
    "JG25": {"no_supervision_months": (7,)},                          # supervision
    "JG28": {"joint_leaders": 0, "no_study_months": (2,)},            # staffing + monthly_study
}


# =============================================================================== Yingshan
def yingshan_review(seed: int = YINGSHAN_SEED) -> dict[str, pd.DataFrame]:
    """The Yingshan first-secretary review: units, indicators, values, ratings and the truth.

    Parameters
    ----------
    seed : int
        Seed of every random number (the plenary draw uses :data:`DRAW_SEED`).

    Returns
    -------
    dict of DataFrame
        ``units``, ``indicators``, ``values``, ``ratings`` (unit, period, rater, rater_group,
        aspect, grade, rater_unit; one row per rating) and ``truth_raters`` (rater, rater_group,
        rater_unit, name, group_leniency, rater_leniency, leniency = their sum, noise_sd,
        identical, leniency_points), leniency in grade steps and, in ``leniency_points``, as
        the expected points above the mean team member on the cells rated
        (:func:`_leniency_points`).
    """
    # The draw rule lives once, in the engine; the generator imports it so that the synthetic
    # sessions are those the scheme's seeded draw produces (a generator, not the data model).

    rng = np.random.default_rng(seed)
    county = {"unit": "511322", "name": "营山县", "name_en": "Yingshan County", "level": "county",
              "parent": "", "group": "", "subgroup": "", "sending_unit": "",
              "note": "real county (name and code)"}
    towns = [{"unit": f"YT{t + 1:02d}", "name": f"示例乡镇{t + 1:02d}",
              "name_en": f"Example township {t + 1:02d}", "level": "town", "parent": "511322",
              "group": _AREAS[t // 5], "subgroup": "", "sending_unit": "",
              "note": "illustrative township (not a real place)"} for t in range(20)]
    depts = [{"unit": f"YD{d + 1:02d}", "name": name, "name_en": f"Sending unit {d + 1:02d}",
              "level": "department", "parent": "511322", "group": "sending_unit",
              "subgroup": "", "sending_unit": "",
              "note": "illustrative sending unit (a kind of county department)"}
             for d, name in enumerate(_DEPARTMENTS)]
    # 12 departments send 3 secretaries, 12 send 2 (= 60), in a random order.
    sends = rng.permutation(np.repeat(np.arange(24), [3] * 12 + [2] * 12))
    theta = rng.standard_normal(60)
    theta = (theta - theta.mean()) / theta.std()
    weak = int(WEAK_SECRETARY[2:]) - 1
    theta[weak] = WEAK_THETA
    sends[weak] = 4  # YD05
    secretaries = []
    for s in range(60):
        t = s // 3
        secretaries.append({
            "unit": f"YS{s + 1:02d}", "name": f"示例村{s + 1:02d}第一书记",
            "name_en": f"First secretary, example village {s + 1:02d}", "level": "official",
            "parent": towns[t]["unit"], "group": towns[t]["group"], "subgroup": "",
            "sending_unit": f"YD{sends[s] + 1:02d}",
            "note": "illustrative person; values synthetic",
            "latent_performance": f"{theta[s]:.4f}"})
    units = pd.DataFrame([county, *towns, *depts, *secretaries])
    units["latent_performance"] = units["latent_performance"].fillna("")
    units["latent_capacity"] = ""

    # The sending units' own target assessment, driven by a latent capacity.
    cap = rng.standard_normal(24)
    units.loc[units["level"] == "department", "latent_capacity"] = [f"{c:.4f}" for c in cap]
    key_tasks = np.clip(92 + 4 * cap + rng.normal(0, 2.5, 24), 70, 100)
    service = np.clip(85 + 5 * cap + rng.normal(0, 3, 24), 60, 100)
    values = pd.DataFrame({
        "unit": np.repeat([d["unit"] for d in depts], 2),
        "period": YINGSHAN_PERIOD,
        "indicator": ["dept_key_tasks", "dept_service_rating"] * 24,
        "value": [f"{v:.1f}" for pair in zip(key_tasks, service, strict=True) for v in pair]})
    src = f"synthetic (assesskit.data.synthetic_review, seed {seed})"
    indicators = pd.DataFrame([
        {"indicator": "dept_key_tasks", "name": "重点工作任务完成率",
         "name_en": "Key tasks completed", "unit_of_measure": "%", "direction": "higher",
         "description": "Sending unit's own annual target assessment: key tasks completed. "
                        "Synthetic.", "source": src, "role": "indicator"},
        {"indicator": "dept_service_rating", "name": "服务对象满意度",
         "name_en": "Service rating", "unit_of_measure": "points (0-100)",
         "direction": "higher", "description": "Sending unit's own annual target assessment: "
                                               "rating by those it serves. Synthetic.",
         "source": src, "role": "indicator"}])

    # Raters and sessions.
    ids = [s["unit"] for s in secretaries]
    drawn = set(draw_reporters(ids, K_DRAWN, DRAW_SEED))
    area = np.array([s["group"] for s in secretaries], dtype=object)
    session = np.where(np.isin(ids, list(drawn)), "plenary", area)
    raters = []
    for g, (_, lam_g, sd, noise) in RATER_GROUPS.items():
        if g == "team":
            members = [(f"T{k + 1:02d}", "", f"考核组成员{k + 1}") for k in range(6)]
        elif g == "township_leaders":
            members = [(f"L{t + 1:02d}", towns[t]["unit"], f"{towns[t]['name']}分管领导")
                       for t in range(20)]
        else:
            members = [(s["unit"], s["unit"], s["name"]) for s in secretaries]
        lam_r = rng.normal(0.0, sd, len(members))
        for (rid, ru, name), lr in zip(members, lam_r, strict=True):
            raters.append({"rater": rid, "rater_group": g, "rater_unit": ru, "name": name,
                           "group_leniency": lam_g, "rater_leniency": lr,
                           "leniency": lam_g + lr, "noise_sd": noise,
                           "identical": rid == IDENTICAL_RATER})
    truth = pd.DataFrame(raters)
    n, R, A = 60, len(truth), len(ASPECTS)
    # Who attends which session (the rule of the scheme's `attends`).
    ru = truth["rater_unit"].to_numpy(dtype=object)
    unit_area = dict(zip(units["unit"], units["group"], strict=True))
    r_area = np.array([unit_area.get(u, "") for u in ru], dtype=object)
    r_session = np.where(np.isin(ru, list(drawn)), "plenary", r_area)
    grp = truth["rater_group"].to_numpy(dtype=object)
    s_ = session[:, None]
    attends = ((grp == "team")[None, :]
               | ((grp == "township_leaders")[None, :] & ((s_ == "plenary") | (s_ == r_area)))
               | ((grp == "peers")[None, :] & (s_ == r_session)))
    is_self = ru[None, :] == np.asarray(ids, dtype=object)[:, None]
    attends &= ~is_self

    delta = rng.normal(0.0, 0.3, (n, 1, A))
    sd = truth["noise_sd"].to_numpy()
    sheet = rng.normal(0.0, 1.0, (n, R, 1)) * 0.5 * sd[None, :, None]
    cell = rng.normal(0.0, 1.0, (n, R, A)) * 0.85 * sd[None, :, None]
    y = (1.9 + 0.55 * (theta[:, None, None] + delta)
         + truth["leniency"].to_numpy()[None, :, None] + sheet + cell)
    step = np.clip(np.rint(y), 0, 3).astype(int)                  # 0 = 差 ... 3 = 好
    step[:, truth["rater"].to_numpy() == IDENTICAL_RATER, :] = 2  # 较好 for everyone
    present = np.repeat(attends[:, :, None], A, axis=2)
    # Self-ratings: the sheet lists every reporter of the session, oneself included.
    for sid in SELF_RATERS:
        i = ids.index(sid)
        j = int(np.flatnonzero(truth["rater"].to_numpy() == sid)[0])
        present[i, j, :] = True
        step[i, j, :] = 3
    # Absent sheets and one incomplete sheet, chosen among the expected ones.
    peers_j = np.flatnonzero(grp == "peers")
    team_j = np.flatnonzero(grp == "team")
    cand = np.argwhere(attends[:, peers_j])
    for i, jj in cand[rng.choice(len(cand), 2, replace=False)]:
        present[i, peers_j[jj], :] = False
    i = int(rng.integers(n))
    present[i, team_j[int(rng.integers(len(team_j)))], :] = False
    cand = np.argwhere(attends[:, peers_j] & present[:, peers_j, 0])
    i, jj = cand[int(rng.integers(len(cand)))]
    present[i, peers_j[jj], int(rng.integers(A))] = False

    truth["leniency_points"] = _leniency_points(theta, delta[:, 0, :], truth, present & ~is_self[..., None])

    ii, jj, aa = np.nonzero(present)                                  # ratee, rater, aspect order
    ratings = pd.DataFrame({
        "unit": np.asarray(ids, dtype=object)[ii], "period": YINGSHAN_PERIOD,
        "rater": truth["rater"].to_numpy(dtype=object)[jj],
        "rater_group": grp[jj],
        "aspect": np.asarray(list(ASPECTS), dtype=object)[aa],
        "grade": np.asarray(GRADES[::-1], dtype=object)[step[ii, jj, aa]],
        "rater_unit": ru[jj]})
    for col in ("group_leniency", "rater_leniency", "leniency", "noise_sd", "leniency_points"):
        truth[col] = truth[col].map(lambda x: f"{x:.4f}")
    truth["identical"] = truth["identical"].map({True: "yes", False: ""})
    return {"units": units, "indicators": indicators, "values": values, "ratings": ratings,
            "truth_raters": truth}


def _leniency_points(theta, delta, truth: pd.DataFrame, rated) -> np.ndarray:
    """Each rater's known leniency in points: expected points above the mean team member.

    For a cell (ratee i, aspect a) the latent mean is ``m = 1.9 + 0.55 (θ_i + δ_ia)`` and a rater
    with leniency λ and noise sd σ gives on average
    ``f(m + λ, s) = 40 + 20 Σ_{k=1..3} Φ((m + λ − k + ½) / s)`` points (the expected value of
    ``round(y)`` clipped to 0..3, ``s = σ √(0.5² + 0.85²)``). The rater's known leniency is the mean,
    over the cells they rated, of ``f`` for them minus the mean of ``f`` over the team members:
    the estimand of a two-way (ratee + rater) model of the points, in points, rounding and the
    ceiling included. The identical rater's ``f`` is the constant 80 (较好).
    """
    from scipy.stats import norm

    m = 1.9 + 0.55 * (theta[:, None] + delta)                          # (n, A)
    lam = truth["leniency"].to_numpy(dtype=float)
    s = truth["noise_sd"].to_numpy(dtype=float) * np.sqrt(0.5 ** 2 + 0.85 ** 2)
    k = np.arange(1, 4)
    z = (m[:, None, :, None] + lam[None, :, None, None] - k + 0.5) / s[None, :, None, None]
    expected = 40 + 20 * norm.cdf(z).sum(axis=-1)                      # (n, R, A)
    expected[:, truth["identical"].to_numpy(dtype=bool), :] = 80.0
    team = (truth["rater_group"] == "team").to_numpy()
    diff = expected - expected[:, team, :].mean(axis=1, keepdims=True)
    return (diff * rated).sum(axis=(0, 2)) / np.maximum(rated.sum(axis=(0, 2)), 1)


# =============================================================================== Jiange
def jiange_musts(seed: int = JIANGE_SEED) -> dict[str, pd.DataFrame]:
    """Jiange townships with the facts of the five musts, some failing by construction.

    Parameters
    ----------
    seed : int

    Returns
    -------
    dict of DataFrame
        ``units``, ``indicators``, ``values`` (annual rows at 2016, monthly rows 2016-01..12).
    """
    rng = np.random.default_rng(seed)
    n = 30
    ids = [f"JG{t + 1:02d}" for t in range(n)]
    units = pd.DataFrame(
        [{"unit": "510823", "name": "剑阁县", "name_en": "Jiange County", "level": "county",
          "parent": "", "group": "", "subgroup": "", "note": "real county (name and code)"}]
        + [{"unit": u, "name": f"示例乡镇{t + 1:02d}", "name_en": f"Example township {t + 1:02d}",
            "level": "town", "parent": "510823", "group": "town", "subgroup": "",
            "note": "illustrative township (not a real place)"} for t, u in enumerate(ids)])
    annual = {
        "joint_leaders": np.ones(n),
        "member_in_charge": np.ones(n),
        "fulltime_staff": rng.integers(1, 3, n).astype(float),
        "office_staff": rng.integers(3, 6, n).astype(float),
        "households_met_midyear": np.full(n, 100.0),
        "households_met_yearend": np.full(n, 100.0),
        "poor_villages": rng.integers(2, 7, n).astype(float),
        "agri_funds_share_poor": np.round(rng.uniform(52, 75, n), 1),
        "gov_input_min_per_poor_village": np.round(rng.uniform(520, 900, n)),
        "total_input_min_per_village": np.round(rng.uniform(1050, 1800, n)),
        "households_lifted": np.round(np.clip(rng.normal(101, 6, n), 75, 120), 1),
        "villages_exited": np.round(np.clip(rng.normal(100, 10, n), 60, 130), 1),
    }
    sessions = rng.integers(1, 4, (n, 12)).astype(float)            # 1-3 a month
    filed = np.ones((n, 12))
    visits = np.zeros((n, 12))
    visits[:, 0::2] = 1                                              # odd months: full coverage
    visits[:, 1::2] = rng.integers(0, 2, (n, 6))                     # even months: sometimes
    for u, facts in JIANGE_FAILURES.items():
        t = ids.index(u)
        for key, v in facts.items():
            if key == "no_study_months":
                for m in v:
                    sessions[t, m - 1] = 0
                    filed[t, m - 1] = 0
            elif key == "unfiled_months":
                for m in v:
                    filed[t, m - 1] = 0
            elif key == "no_supervision_months":
                for m in v:
                    visits[t, m - 1] = 0
            else:
                annual[key][t] = v
    annual["study_sessions"] = sessions.sum(axis=1)
    annual["study_records_filed"] = filed.sum(axis=1)
    annual["months_studied"] = (sessions >= 1).sum(axis=1).astype(float)
    annual["months_recorded"] = ((sessions >= 1) & (filed == 1)).sum(axis=1).astype(float)
    annual["supervision_visits"] = visits.sum(axis=1)
    annual["odd_months_covered"] = (visits[:, 0::2] >= 1).sum(axis=1).astype(float)

    codes = list(JIANGE_INDICATORS)
    rows = []
    for t, u in enumerate(ids):
        for c in codes:
            rows.append((u, JIANGE_PERIOD, c, _fmt(annual[c][t], JIANGE_INDICATORS[c][4])))
    monthly = {"study_sessions": sessions, "study_records_filed": filed,
               "supervision_visits": visits}
    for m in range(12):
        for t, u in enumerate(ids):
            for c in MONTHLY:
                rows.append((u, f"{JIANGE_PERIOD}-{m + 1:02d}", c, _fmt(monthly[c][t, m], 0)))
    values = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value"])
    src = f"synthetic (assesskit.data.synthetic_review, seed {seed})"
    indicators = pd.DataFrame([
        {"indicator": c, "name": name, "name_en": c.replace("_", " "), "unit_of_measure": uom,
         "direction": "higher", "description": f"{desc}. Must: {must}. Synthetic.",
         "source": src, "role": "indicator"}
        for c, (name, uom, must, desc, _) in JIANGE_INDICATORS.items()])
    return {"units": units, "indicators": indicators, "values": values}


def _fmt(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


# =============================================================================== writing
_YAML = """\
# Generated by `python -m assesskit.data.synthetic_review` ({function}); do not edit by hand:
# change the generator and regenerate (tests/test_synthetic_review.py compares the bytes).
name: {name}
title: "{title}"
description: >-
  {description}
kind: synthetic
generator: "assesskit.data.synthetic_review:{function}"
seed: {seed}
provenance: |
{provenance}
files:
{files}
"""

_YINGSHAN_PROVENANCE = f"""\
REAL: the county 营山县 (511322; name and code from the shared Sichuan county list); the procedure (双述双评: {K_DRAWN} secretaries drawn at random for the plenary, the others report in groups; three rater groups; 8 aspects on 4 grades 好/较好/一般/差; grades 优秀/称职/基本称职/不称职 and their consequences) from seed 002 (四川省脱贫攻坚简报 2016年第34期), see docs/schemes-from-seeds.md section 3; the aspect names 总体评价, 履行第一责任人职责, 建强基层组织.
ILLUSTRATIVE: the townships YT01..YT20 (示例乡镇, not real places) and their areas 片区一..四; the villages and first secretaries YS01..YS60 (示例村…第一书记, not real people); the sending units YD01..YD24 (kinds of county department; which unit sent whom is invented); the aspects 推动精准扶贫, 为民办事服务, 提升治理水平, 推动基础设施建设 (report topics in the source, not stated to be rating aspects) and 工作作风 (invented: the source names only 3 of its 8 aspects); the raters T01..T06 (考核组成员) and L01..L20 (乡镇分管领导).
SYNTHETIC: every rating, value and latent column, generated by assesskit.data.synthetic_review.yingshan_review(seed={YINGSHAN_SEED}); the plenary draw uses the engine's draw_reporters with seed {DRAW_SEED} and k = {K_DRAWN}. The generator's truth: units.csv latent_performance (secretaries) and latent_capacity (sending units); truth_raters.csv (each rater's group, leniency and noise, not read by the loader). Planted by construction: {WEAK_SECRETARY} weak (graded 不称职 under the built-in scheme yingshan-first-secretaries; sending unit YD05), {IDENTICAL_RATER} rates everyone 较好, {', '.join(SELF_RATERS)} rate themselves, two peer sheets and one team sheet absent, one sheet lacking an aspect. No value is an official record.
Licence: generated data, MIT like the code."""

_JIANGE_PROVENANCE = f"""\
REAL: the county 剑阁县 (510823; name and code from the shared Sichuan county list); the five musts (五个必须) and their thresholds from seed 002, see docs/schemes-from-seeds.md section 3.
ILLUSTRATIVE: the 30 townships JG01..JG30 (示例乡镇, not real places; the county has about 30).
SYNTHETIC: every value, generated by assesskit.data.synthetic_review.jiange_musts(seed={JIANGE_SEED}). Failing by construction: JG03 (专人专职: no full-time staff), JG07 (专人专职: office of 2), JG11 (每月研究: no session in April and August), JG14 (每月研究: June report not filed), JG18 (户户见面: 96.5% met at year end), JG21 (整合资金: 42% of funds, 4.5 million yuan in the poorest-funded village), JG25 (专班督导: no visit in July), JG28 (专人专职: no joint leaders; 每月研究: no session in February). Every other township passes every must. The agricultural-funds share, set per department in the source, is modelled per township. Monthly facts at 2016-01..2016-12, their annual counts at 2016.
Licence: generated data, MIT like the code."""


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def _write(tables: dict, directory: Path, *, name, title, description, function, seed,
           provenance, extra_yaml: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for table, frame in tables.items():
        _write_csv(frame, directory / f"{table}.csv")
        if table in ("units", "indicators", "values", "ratings"):
            files.append(f"  {table}: {table}.csv")
    text = _YAML.format(name=name, title=title, description=description, function=function,
                        seed=seed, files="\n".join(files),
                        provenance="\n".join("  " + ln for ln in provenance.splitlines()))
    (directory / "dataset.yaml").write_bytes((text + extra_yaml).encode("utf-8"))
    return directory


def write_yingshan(directory: str | Path, seed: int = YINGSHAN_SEED) -> Path:
    """Write :func:`yingshan_review` to ``directory`` (``data/yingshan``), byte-deterministically."""
    extra = (f"rating_scale: [{', '.join(GRADES)}]\n"
             f"review_draw: {{k: {K_DRAWN}, seed: {DRAW_SEED}, period: '{YINGSHAN_PERIOD}'}}\n")
    return _write(yingshan_review(seed), Path(directory), name="yingshan",
                  title="营山县 双述双评: first-secretary review 2015 (real county, synthetic "
                        "ratings)",
                  description="60 illustrative first secretaries in 20 townships, their 24 "
                              "sending units and every rating sheet of a 双述双评 review with "
                              "known rater leniency. All ratings and values are synthetic.",
                  function="yingshan_review", seed=seed, provenance=_YINGSHAN_PROVENANCE,
                  extra_yaml=extra)


def write_jiange(directory: str | Path, seed: int = JIANGE_SEED) -> Path:
    """Write :func:`jiange_musts` to ``directory`` (``data/jiange``), byte-deterministically."""
    return _write(jiange_musts(seed), Path(directory), name="jiange",
                  title="剑阁县 五个必须: township facts 2016 (real county, synthetic values)",
                  description="30 illustrative townships with the facts each of the five musts "
                              "checks, some failing by construction. All values are synthetic.",
                  function="jiange_musts", seed=seed, provenance=_JIANGE_PROVENANCE)


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate ``data/yingshan`` and ``data/jiange`` (``python -m assesskit.data.synthetic_review``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=_REPO_DATA,
                        help="data root to write yingshan/ and jiange/ into (default: repo data/)")
    args = parser.parse_args(argv)
    for path in (write_yingshan(args.out / "yingshan"), write_jiange(args.out / "jiange")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
