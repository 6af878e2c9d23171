"""The analysis layer: critiques of a scheme built on the engine.

:mod:`~assesskit.analysis.weights` (weighting methods, and weights in a scheme),
:mod:`~assesskit.analysis.compare` (several evaluations side by side),
:mod:`~assesskit.analysis.sensitivity` (Sobol' designs and estimators),
:mod:`~assesskit.analysis.uncertainty` (Monte Carlo over a scheme's design choices),
:mod:`~assesskit.analysis.grouping` (the same scheme under other regional groupings, quota
fairness), :mod:`~assesskit.analysis.counterfactual` (what each unit would have needed to change
to gain or lose a consequence) and :mod:`~assesskit.analysis.incentives` (what the scheme really
pays for).
No module here implements a scoring, ranking, quota or grade rule of its own.
"""
