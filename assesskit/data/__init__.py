"""The data layer: the data model, loaders, bundled datasets and seeded synthetic generators.

:mod:`~assesskit.data.model` (:class:`Dataset`, periods), :mod:`~assesskit.data.numbers`
(numbers as people write them), :mod:`~assesskit.data.io` (CSV, Excel, folders),
:mod:`~assesskit.data.datasets` (the bundled datasets), :mod:`~assesskit.data.reference`
(real published panels), :mod:`~assesskit.data.synthetic` and
:mod:`~assesskit.data.synthetic_cities` (documented, seeded generators).
"""
