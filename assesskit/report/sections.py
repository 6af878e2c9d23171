"""The sections of the two report notebooks, so that each notebook cell is one call.

``notebooks/annual-report.ipynb`` builds an :class:`AnnualPage` (the overview, or one group) and
``notebooks/unit-report.ipynb`` a :class:`UnitPage`; each method shows one section (tables and
sentences through :mod:`~assesskit.report.render`, escaped) and returns its chart, if any. Every
sentence that states a finding is computed here from the engine's results; names of levels,
groups, consequences and periods come from the scheme and the data.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown, display

from . import layout, render, tables
from .charts import plot_group_results, plot_points_lost, plot_unit_trend
from .context import report_context
from .safe import md_text

RANK_FORMAT = {"group_rank": lambda v: tables.format_number(v, "{:g}"),
               "subgroup_rank": lambda v: tables.format_number(v, "{:g}", ""),
               "rank": lambda v: tables.format_number(v, "{:g}"),
               "rank_before": lambda v: tables.format_number(v, "{:g}"),
               "rank_change": lambda v: tables.format_number(v, "{:+g}"),
               "score_change": lambda v: tables.format_number(v, "{:+.2f}")}


class _Page:
    """What both pages share: the context, the page's own path, links to other pages."""

    def __init__(self, scheme, dataset, period, groups=None):
        self.context = report_context(scheme, dataset)
        self.scheme = self.context.scheme
        self.ev = self.context.evaluation(period)
        self.period = self.ev.period
        self.max_points = float(self.scheme.spec.get("max_points", 100))
        # groups whose pages are in the report set (None: every page exists)
        self.groups = None if groups is None else set(groups)
        scores = self.ev.scores
        if self.groups is None:
            self.linked = None
        else:
            chosen = scores[scores["group"].isin(self.groups)]
            self.linked = set(chosen["unit"]) | set(chosen["parent"].astype(str))

    def has_page(self, unit: str) -> bool:
        """True when the report set has a page for ``unit``."""
        return self.linked is None or str(unit) in self.linked

    # links ---------------------------------------------------------------------------------
    def unit_links(self, frame: pd.DataFrame, here: str) -> pd.Series:
        levels = frame["level"] if "level" in frame else self.ev.scores.set_index("unit").loc[
            frame["unit"], "level"].to_numpy()
        paths = [layout.href(here, layout.unit_path(self.period, lv, u)) if self.has_page(u) else ""
                 for lv, u in zip(levels, frame["unit"], strict=True)]
        return pd.Series(paths, index=frame.index)

    def group_link(self, level: str, group: str, here: str) -> str | None:
        if tables.has_group_pages(self.ev, level) and (self.groups is None or group in self.groups):
            return layout.href(here, layout.group_path(self.period, level, group))
        return None

    def results_html(self, results: pd.DataFrame, here: str, *, show_group: bool = False,
                     self_unit: str | None = None):
        has_sub = results["subgroup"].astype(str).ne("").any()
        has_grade = results["grade"].astype(str).ne("").any()
        cols = [("group_rank", "组内排名 group rank")]
        if show_group:
            cols.insert(0, ("group", "分组 group"))
        if has_sub:
            cols += [("subgroup", "子分组 subgroup"), ("subgroup_rank", "子分组排名 subgroup rank")]
        cols += [("name", "名称 name"), ("unit", "代码 id"), ("score", "得分 score")]
        if has_grade:
            cols.append(("grade", "等次 grade"))
        cols.append(("outcome_label", "结果 outcome"))
        classes = results["side"].copy()
        if self_unit is not None:
            classes = classes.where(results["unit"] != self_unit, "self")
        return render.table(results, cols, links={"name": self.unit_links(results, here)},
                            formats=RANK_FORMAT, row_class=classes)

    def header_facts(self) -> Markdown:
        ctx = self.context
        inp = next(e for e in self.ev.log if e.get("step") == "input")
        subs = inp.get("sub_periods") or [self.period]
        combined = (f" (the annual result combines {md_text(', '.join(subs))})"
                    if len(subs) > 1 else "")
        lines = [
            f"- **方案 Scheme**: {md_text(self.scheme.spec.get('title', self.scheme.name))} "
            f"(`{md_text(self.scheme.name)}`)",
            f"- **来源文件 Source document**: {md_text(render.source_document(self.scheme))}",
            f"- **数据 Data**: {md_text(ctx.data.name)} ({md_text(ctx.kind)} values); period "
            f"{md_text(self.period)}{combined}",
        ]
        for d in (e for e in self.ev.log if e.get("step") == "draw"):
            # a review's plenary draw (随机抽取) is a random choice: its seed belongs up front
            who = ", ".join(f"{n} ({u})" for n, u in zip(d["names"], d["drawn"], strict=True))
            lines.append(f"- **随机抽取 Plenary draw** ({md_text(d['level'])}): {d['k']} of "
                         f"{d['n']} drawn with seed {d['seed']} ({md_text(d['method'])}): "
                         f"{md_text(who)}")
        if self.scheme.log:
            lines.append(f"- **Changes to the published scheme**: "
                         f"{md_text('; '.join(map(str, self.scheme.log)))}")
        return Markdown("\n".join(lines))


# ============================================================================== annual report
class AnnualPage(_Page):
    """The overview of one period (``group=None``), or the page of one group of one level.

    Parameters
    ----------
    scheme, dataset : str
        Built-in scheme name or YAML path; bundled dataset name or dataset path.
    period : str
    level : str, optional
        One assessed level; default every level (the overview).
    group : str, optional
        One group of ``level``; default every group.
    n_draws, seed : int
        Size and seed of the uncertainty run (recorded on the page).
    groups : list of str, optional
        The groups whose pages the report set holds (``assesskit report --group``); links to
        other pages are left out. Default: every page exists.
    """

    def __init__(self, scheme, dataset, period, level=None, group=None, *, n_draws=64,
                 seed=20240423, groups=None):
        super().__init__(scheme, dataset, period, groups)
        levels = tables.levels_of(self.ev)
        if level is not None and level not in levels:
            raise ValueError(f"level {level!r} is not assessed; levels: {', '.join(levels)}")
        if group is not None and level is None:
            level = next(lv for lv in levels if group in tables.groups_of(self.ev, lv))
        self.levels = [level] if level else levels
        self.group = group
        self.n_draws, self.seed = int(n_draws), int(seed)
        self.here = (layout.group_path(self.period, level, group) if group is not None
                     else layout.overview_path(self.period))

    def units(self) -> list[str]:
        s = self.ev.scores[self.ev.scores["level"].isin(self.levels)]
        if self.group is not None:
            s = s[s["group"] == self.group]
        return s["unit"].tolist()

    def header(self) -> None:
        title = self.scheme.spec.get("title", self.scheme.name)
        where = f" — {md_text(self.group)}" if self.group is not None else ""
        display(render.style())
        display(Markdown(f"# {md_text(title)} · {md_text(self.period)}{where}"))
        nav = [("总览 overview", layout.overview_path(self.period) if self.group else None)]
        if self.group is not None:
            nav.append((self.group, None))
        display(render.navigation(self.here, nav))
        display(render.data_banner(self.context))
        display(self.header_facts())
        if self.group is None:
            pages = [(g, self.group_link(lv, g, self.here)) for lv in self.levels
                     for g in tables.groups_of(self.ev, lv) if tables.has_group_pages(self.ev, lv)]
            if pages:
                display(render.HTML("<p>分组页面 Group pages: " + " · ".join(
                    render.link(g, h) for g, h in pages) + "</p>"))

    # results ---------------------------------------------------------------------------------
    def results(self) -> None:
        """Ranked tables by group, the consequence lists and the subgroup split explained."""
        for level in self.levels:
            spec = self.scheme.levels[level]
            res = tables.results_table(self.ev, level, self.group)
            display(Markdown(f"### {md_text(spec.label)} ({md_text(level)}, {len(res)} units)"))
            for g in dict.fromkeys(res["group"]):
                part = res[res["group"] == g]
                if len(dict.fromkeys(res["group"])) > 1 or self.group is not None:
                    target = self.group_link(level, g, self.here) if self.group is None else None
                    display(render.HTML(f"<h4>{render.link(g, target)}</h4>"))
                display(self.results_html(part, self.here))
                display(self._outcome_sentences(part))
            for item in tables.subgroup_explanations(self.ev, level, self.group):
                display(self._subgroup_sentence(item))

    def _outcome_sentences(self, part: pd.DataFrame) -> Markdown:
        lines = []
        for label, g in part[part["outcome"] != ""].groupby("outcome_label", sort=False):
            names = "、".join(md_text(n) for n in g["name"])
            lines.append(f"- **{md_text(label)}** ({len(g)}): {names}")
        return Markdown("\n".join(lines) if lines else "_No unit of this group has a "
                        "consequence this period._")

    def _subgroup_sentence(self, item: dict) -> Markdown:
        res = tables.results_table(self.ev, self.levels[0] if len(self.levels) == 1 else
                                   self.ev.scores.set_index("unit").loc[
                                       item["with_outcome"]["unit"], "level"])
        size = res.groupby(["group", "subgroup"])["unit"].size()
        side = "top" if item["side"] == "top" else "bottom"

        def place(u, quota):
            n = int(size.get((item["group"], u["subgroup"]), 0))
            return (f"group rank {u['group_rank']:g}; number {u['subgroup_rank']:g} of {n} in "
                    f"{md_text(u['subgroup'])}, where the {side} {quota} are "
                    f"{md_text(item['label'])}")

        w, o = item["with_outcome"], item["without"]
        return Markdown(
            f"**Why the group ranks and the list differ in {md_text(item['group'])}:** the "
            f"scheme sets the quota for **{md_text(item['label'])}** per subgroup, so the "
            f"subgroup rank decides. {md_text(w['name'])} ({place(w, item['quota_with'])}) is "
            f"{md_text(item['label'])}; {md_text(o['name'])} ({place(o, item['quota_without'])}) "
            "is not.")

    def results_chart(self):
        """Bar charts of the scores by group (the last level with several groups, else all)."""
        figs = []
        for level in self.levels:
            res = tables.results_table(self.ev, level, self.group)
            spec = self.scheme.levels[level]
            figs.append(plot_group_results(
                res, title=f"{spec.label} · {self.period}\n得分与结果 scores and outcomes by group",
                max_points=self.max_points))
        for fig in figs[:-1]:
            display(render.figure(fig))
        return render.figure(figs[-1]) if figs else None

    # changes, rules, lights -----------------------------------------------------------------
    def changes(self) -> None:
        """Score, rank and outcome against the previous period."""
        prev = self.context.previous_period(self.period)
        if prev is None:
            reasons = "; ".join(f"{p}: {r}" for p, r in self.context.unavailable.items())
            display(render.markdown("_{p} is the first period that can be evaluated; nothing to "
                                    "compare with._" + (" Periods in the data that cannot be "
                                                        "evaluated: {r}" if reasons else ""),
                                    p=self.period, r=reasons))
            return
        before = self.context.evaluation(prev)
        for level in self.levels:
            ch = tables.changes_table(self.ev, before, level, self.group)
            moved = ch[ch["outcome_changed"]]
            up = ch.dropna(subset=["rank_change"]).sort_values("rank_change", kind="mergesort")
            facts = [f"**{md_text(self.scheme.levels[level].label)}**: {len(moved)} of {len(ch)} "
                     f"units have a different outcome than in {md_text(prev)}."]
            if len(up) and up["rank_change"].iloc[-1] > 0:
                r = up.iloc[-1]
                facts.append(f"Largest rise in the group ranking: {md_text(r['name'])} "
                             f"(+{r['rank_change']:g} places).")
            if len(up) and up["rank_change"].iloc[0] < 0:
                r = up.iloc[0]
                facts.append(f"Largest fall: {md_text(r['name'])} ({r['rank_change']:g} places).")
            display(Markdown(" ".join(facts)))
            display(render.table(
                ch, [("group", "分组 group"), ("name", "名称 name"),
                     ("score_before", f"{prev} 得分"), ("score", f"{self.period} 得分"),
                     ("score_change", "变化 change"), ("rank_before", f"{prev} 组内排名"),
                     ("group_rank", f"{self.period} 组内排名"), ("rank_change", "名次变化 places"),
                     ("outcome_before", f"{prev} 结果"), ("outcome_label", f"{self.period} 结果")],
                links={"name": self.unit_links(ch.assign(level=level), self.here)},
                formats=RANK_FORMAT,
                row_class=ch["outcome_changed"].map({True: "bottom", False: ""})))

    def rules(self) -> None:
        """The multi-period rules of the scheme and those that fire this period."""
        rules = [r for r in tables.rules_of(self.scheme) if r["level"] in self.levels]
        if not rules:
            display(Markdown("_The scheme has no rule spanning several periods for these "
                             "units._"))
            return
        display(render.bullet_list([
            f"**{md_text(r.get('label', r['name']))}** ({md_text(r['level'])}): when "
            f"{md_text(tables.describe_condition(r['when']))} in {r.get('consecutive', 1)} "
            "periods in a row"
            for r in rules]))
        fired = tables.fired_rules(self.context.history, self.period, self.units())
        if fired.empty:
            display(render.markdown("_No multi-period rule fires in {p}._", p=self.period))
            return
        display(render.markdown("{n} unit(s) meet a multi-period rule in {p}:", n=len(fired),
                                p=self.period))
        display(render.table(fired, [("name", "名称 name"), ("level", "层级 level"),
                                     ("label", "规则 rule"), ("streak", "连续期数 periods in a row")],
                             links={"name": self.unit_links(fired, self.here)},
                             row_class=pd.Series("bottom", index=fired.index)))

    def traffic_lights(self) -> None:
        """Progress against the time schedule (only schemes with a schedule)."""
        wide = tables.traffic_light_table(self.ev, self.units())
        if wide.empty:
            display(Markdown("_The scheme sets no time schedule, so there are no traffic "
                             "lights._"))
            return
        periods = [c for c in wide.columns if c not in ("unit", "name", "level", "indicator")]
        last = wide[periods[-1]]
        display(render.markdown("At the end of {p}: {g} green, {y} yellow (reminder), {r} red "
                                "(warning).", p=periods[-1], g=int((last == "green").sum()),
                                y=int((last == "yellow").sum()), r=int((last == "red").sum())))
        display(render.light_table(wide, periods, self.unit_links(wide, self.here)))

    # uncertainty --------------------------------------------------------------------------
    def uncertainty(self):
        """Median rank, 5–95% interval and the share of runs on each list (labelled as the
        scheme labels it) from a small seeded run."""
        from .narrative import uncertainty_lists
        from .plotting import plot_rank_uncertainty

        fig = None
        levels = [lv for lv in self.levels if not tables.quota_table(self.scheme, lv).empty]
        if not levels:
            display(Markdown("_No consequence depends on the ranks of these units, so no "
                             "uncertainty run is made._"))
            return None
        for level in levels:
            res = self.context.uncertainty(self.period, level, self.n_draws, self.seed)
            ranks = tables.uncertainty_table(res, self.group)
            lists = [(label, column) for label, _, column in uncertainty_lists(res)
                     if column in ranks.columns]
            unsure = pd.Series(False, index=ranks.index)
            for _, column in lists:
                unsure |= (ranks[column] > 0) & (ranks[column] < 1)
            uncertain = ranks[unsure]
            display(render.markdown(
                "**{label}**: {runs} runs of the scheme's own design choices ({factors}; n = {n}, "
                "seed {seed}). {k} of {m} units have an uncertain outcome.",
                label=self.scheme.levels[level].label, runs=len(res.draws),
                factors=", ".join(getattr(f, "name", str(f)) for f in getattr(res, "factors", [])),
                n=self.n_draws, seed=self.seed, k=len(uncertain), m=len(ranks)))
            display(render.table(
                ranks, [("group", "分组 group"), ("name", "名称 name"),
                        ("nominal_rank", "正式排名 rank"), ("median_rank", "中位排名 median"),
                        ("q05", "5%"), ("q95", "95%")]
                + [(column, f"P({label})") for label, column in lists],
                links={"name": self.unit_links(ranks.assign(level=level), self.here)},
                formats={c: (lambda v: tables.format_number(v, "{:g}"))
                         for c in ("nominal_rank", "median_rank", "q05", "q95")}
                | {column: (lambda v: tables.format_number(v, "{:.0%}"))
                   for _, column in lists}))
            fig = render.figure(plot_rank_uncertainty(res, group=self.group))
        return fig

    # assumptions and missing values ---------------------------------------------------------
    def notices(self) -> None:
        """Decisions the data loader and the engine took by a documented policy (other than the
        missing values listed below): an assumed direction, a constant indicator, an indicator
        absent in the period, a scheme file read as GBK ..."""
        shown = [n for n in self.ev.notices if not n.kind.startswith("missing_")]
        if not shown:
            return
        display(render.markdown("{n} decision(s) taken by a documented policy:", n=len(shown)))
        display(render.bullet_list([f"{md_text(n.where)}: {md_text(n.message)}" if n.where
                                    else md_text(n.message) for n in shown]))

    def assumptions(self) -> None:
        """The scheme's assumptions and every missing-value decision."""
        a = tables.assumptions(self.scheme)
        display(render.bullet_list([f"**{md_text(r.id)}**: {md_text(r.text)}"
                                    for r in a.itertuples()]) if len(a) else
                Markdown("_The scheme lists no assumptions._"))
        self.notices()
        missing = tables.missing_decisions(self.ev, self.units())
        if missing.empty:
            display(render.markdown("_No value was missing in {p} for these units._",
                                    p=self.period))
            return
        display(render.markdown("{n} missing value(s) in {p}, each handled by the scheme's "
                                "policy:", n=len(missing), p=self.period))
        display(render.table(missing, [("name", "名称 name"), ("node", "指标 indicator"),
                                       ("period", "期间 period"), ("policy", "处理 policy"),
                                       ("note", "说明 what was done")],
                             links={"name": self.unit_links(missing, self.here)}))


# ============================================================================== unit report
class UnitPage(_Page):
    """The page of one unit.

    Parameters
    ----------
    scheme, dataset, period : str
    level : str or None
        The unit's level (default: from the data).
    unit : str
        Unit id (or its name).
    groups : list of str, optional
        As for :class:`AnnualPage`.
    """

    def __init__(self, scheme, dataset, period, level, unit, groups=None):
        super().__init__(scheme, dataset, period, groups)
        units = self.context.data.units
        hit = units[(units["unit"] == str(unit)) | (units["name"] == str(unit))]
        if hit.empty:
            raise ValueError(f"no unit {unit!r} in dataset {self.context.data.name!r}")
        self.info = hit.iloc[0]
        self.unit = str(self.info["unit"])
        self.level = level or str(self.info["level"])
        self.row = tables.unit_row(self.ev, self.unit)
        self.here = layout.unit_path(self.period, self.level, self.unit)

    @property
    def assessed(self) -> bool:
        return self.row is not None

    def header(self) -> None:
        name = self.info["name"] or self.unit
        display(render.style())
        display(Markdown(f"# {md_text(name)} ({md_text(self.unit)}) · {md_text(self.period)}"))
        nav = [("总览 overview", layout.overview_path(self.period))]
        if self.assessed and self.group_link(self.level, self.row["group"], self.here):
            nav.append((self.row["group"], layout.group_path(self.period, self.level,
                                                             self.row["group"])))
        parent = str(self.info.get("parent", "") or "")
        if parent and parent in set(self.context.data.units["unit"]) and self.has_page(parent):
            p = self.context.data.units.set_index("unit").loc[parent]
            nav.append((f"上级 {p['name'] or parent}", layout.unit_path(self.period, p["level"], parent)))
        nav.append((name, None))
        display(render.navigation(self.here, nav))
        display(render.data_banner(self.context))
        display(self.header_facts())

    def summary(self) -> None:
        """Score, ranks (overall, group, subgroup), grade and outcome."""
        if not self.assessed:
            display(render.markdown("**{name}** is not assessed by {scheme} in {p}; the units "
                                    "under it are listed below.", name=self.info["name"],
                                    scheme=self.scheme.name, p=self.period))
            return
        r, s = self.row, self.ev.scores
        level_n = int((s["level"] == self.level).sum())
        group_n = int(((s["level"] == self.level) & (s["group"] == r["group"])).sum())
        lines = [f"- **得分 Score**: {tables.format_number(r['score'])} of {self.max_points:g}",
                 f"- **排名 Rank** among all {level_n} units of the level: "
                 f"{tables.format_number(r['rank'], '{:g}')}",
                 f"- **组内排名 Group rank** in {md_text(r['group'])}: "
                 f"{tables.format_number(r['group_rank'], '{:g}')} of {group_n}"]
        if str(r["subgroup"]):
            sub_n = int(((s["level"] == self.level) & (s["group"] == r["group"])
                         & (s["subgroup"] == r["subgroup"])).sum())
            lines.append(f"- **子分组排名 Subgroup rank** in {md_text(r['subgroup'])}: "
                         f"{tables.format_number(r['subgroup_rank'], '{:g}')} of {sub_n}")
        if str(r["grade"]):
            lines.append(f"- **等次 Grade**: {md_text(r['grade'])}")
        outcome = md_text(r["outcome_label"]) if r["outcome"] else "none (无)"
        lines.append(f"- **结果 Outcome**: {outcome}")
        if bool(r["vetoed"]):
            lines.append(f"- **一票否决 Veto**: {md_text(r['veto_reason'])}")
        display(Markdown("\n".join(lines)))

    def basis(self):
        """The scoring basis: every node, the value, points and every point lost with its
        reason; returns the waterfall of points lost."""
        if not self.assessed:
            return None
        basis = tables.scoring_basis(self.ev, self.unit, self.context.data.indicators)
        shown = basis.assign(
            node_label=["\u2003" * int(d) + str(lab) for d, lab in zip(basis["depth"],
                                                                          basis["label"],
                                                                          strict=True)],
            value=[tables.format_value(v, u, m) if k in ("leaf", "shared", "deduction")
                   else ("" if pd.isna(v) else tables.format_value(v))
                   for v, u, m, k in zip(basis["raw_value"], basis["unit_of_measure"],
                                         basis["missing"], basis["kind"], strict=True)],
            score_text=[("—" if m or pd.isna(sc) else f"{sc:.1f}/100")
                        for sc, m in zip(basis["score"], basis["missing"], strict=True)])
        lost = tables.points_lost(basis)
        total_lost = self.max_points - float(self.row["score"])
        display(render.markdown("{name} scores {score} of {mx}: {lost} points lost at {k} "
                                "node(s).", name=self.info["name"] or self.unit,
                                score=f"{float(self.row['score']):.2f}", mx=f"{self.max_points:g}",
                                lost=f"{total_lost:.2f}", k=len(lost)))
        display(render.table(
            shown, [("node_label", "指标 item"), ("value", "数值 value"),
                    ("score_text", "得分率 score"), ("points", "得分 points"),
                    ("max_points", "满分 max"), ("points_lost", "失分 lost"),
                    ("reason", "原因 reason")],
            row_class=shown["missing"].map({True: "bottom", False: ""})))
        missing = basis[basis["missing"]]
        if len(missing):
            display(render.markdown("Not reported: {items}. The scheme's missing-value policy "
                                    "decided what happened (see the reason column).",
                                    items="、".join(missing["label"].astype(str))))
        if lost.empty:
            return None
        return render.figure(plot_points_lost(lost, score=float(self.row["score"]), max_points=self.max_points,
                                title=f"{self.info['name'] or self.unit} · {self.period}: "
                                      "失分 points lost, from the maximum to the score"))

    def trend(self):
        """Score, ranks and outcome over every period that can be evaluated."""
        trend = tables.unit_trend(self.context.history, self.unit)
        if trend.empty:
            display(Markdown("_This unit is assessed in no period._"))
            return None
        display(render.table(trend, [("period", "期间 period"), ("score", "得分 score"),
                                     ("rank", "排名 rank"), ("group_rank", "组内排名 group rank"),
                                     ("grade", "等次 grade"), ("outcome_label", "结果 outcome")],
                             formats=RANK_FORMAT))
        if self.context.unavailable:
            display(render.markdown("Periods in the data that cannot be evaluated: {r}.",
                                    r="; ".join(f"{p} ({why})" for p, why in
                                                self.context.unavailable.items())))
        return render.figure(plot_unit_trend(
            trend, title=f"{self.info['name'] or self.unit}: 历年得分与排名 score and group rank "
                         "by period"))

    def peers(self):
        """The units ranked with this one (its group); returns the group's bar chart."""
        if not self.assessed:
            return None
        table = tables.peers(self.ev, self.unit)
        display(self.results_html(table, self.here, self_unit=self.unit))
        return render.figure(plot_group_results(
            table, title=f"{self.row['group']} · {self.period}: 同组单位 peers in the group",
            max_points=self.max_points, highlight=self.unit))

    def children(self) -> None:
        """Units under this one (a prefecture's counties), if any are assessed."""
        kids = tables.children(self.ev, self.context.data, self.unit)
        if kids.empty:
            display(Markdown("_No assessed unit lies under this one._"))
            return
        display(render.markdown("{n} assessed unit(s) lie under {name}:", n=len(kids),
                                name=self.info["name"] or self.unit))
        display(self.results_html(kids, self.here, show_group=True))

    def rules_and_lights(self) -> None:
        """Multi-period rules fired for this unit, its traffic lights and missing values."""
        fired = tables.fired_rules(self.context.history, self.period, [self.unit])
        if len(fired):
            display(render.bullet_list([f"**{md_text(r.label)}**: {r.streak} periods in a row "
                                        f"up to {md_text(r.period)}" for r in fired.itertuples()]))
        else:
            display(render.markdown("_No multi-period rule fires for this unit in {p}._",
                                    p=self.period))
        wide = tables.traffic_light_table(self.ev, [self.unit])
        if len(wide):
            periods = [c for c in wide.columns if c not in ("unit", "name", "level", "indicator")]
            display(render.light_table(wide, periods))

    def counterfactual(self):
        """What it would take to change the unit's outcome
        (:func:`assesskit.analysis.counterfactual.counterfactuals`): for each outcome the unit
        could gain or lose, the smallest change of each single indicator and the cheapest
        combination, every other unit held fixed, within the default bounds; the findings in
        words, then the table."""
        if not self.assessed:
            return render.markdown("_{name} is not assessed in {p}._", name=self.info["name"],
                                   p=self.period)
        if self.scheme.levels[self.level].review is not None:
            return render.markdown("_Not available: level {level} is graded from rating sheets "
                                   "(a review), so there is no indicator value to change._",
                                   level=self.level)
        from ..analysis.counterfactual import counterfactuals

        cf = counterfactuals(self.scheme, self.context.data, self.period, level=self.level,
                             units=[self.unit],
                             batch=self.context.value_batch(self.period, self.level))
        display(Markdown(cf.describe_unit(self.unit)))  # escaped by describe_unit
        table = cf.unit_table(self.unit, lang="zh")
        if table.empty:
            return None
        cols = [("结果", "结果 outcome"), ("方向", "得到/失去 gain/lose"), ("指标", "指标 indicator"),
                ("当前值", "当前值 value"), ("需要的变化", "需要的变化 change needed"),
                ("变化后", "变化后 new value"), ("占全距", "占全距 share of the spread"),
                ("名次", "名次 place")]
        subs = cf.space.changed_periods
        note = ("changes are made in each of " + ", ".join(subs)) if len(subs) > 1 else ""
        return render.table(table, cols, caption=(
            "Each change is found on the engine with every other unit held fixed; a change is "
            "rounded away from zero, so that the number shown still changes the outcome; "
            "combined: the cheapest combination by the sum of changes in spreads"
            + (f"; {note}" if note else "")))
