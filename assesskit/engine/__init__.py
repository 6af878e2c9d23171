"""The engine layer: every scoring, aggregation, ranking, quota and grade rule, once.

:mod:`~assesskit.engine.scoring` (rules that turn raw values into scores),
:mod:`~assesskit.engine.level` (one level of a scheme for one period) and
:mod:`~assesskit.engine.evaluation` (:func:`evaluate` and the :class:`Evaluation` result).
"""
