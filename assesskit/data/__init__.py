"""The data layer: the data model, loaders, bundled datasets and seeded synthetic generators.

:mod:`~assesskit.data.model` (:class:`Dataset`, periods), :mod:`~assesskit.data.numbers`
(numbers as people write them), :mod:`~assesskit.data.io` (CSV, Excel, folders),
:mod:`~assesskit.data.datasets` (the bundled datasets), :mod:`~assesskit.data.reference`
(real published panels), :mod:`~assesskit.data.ratings` (the ratings table of a rater-based
review), :mod:`~assesskit.data.synthetic`, :mod:`~assesskit.data.synthetic_cities` and
:mod:`~assesskit.data.synthetic_review` (documented, seeded generators).
"""
