"""The report layer: plots (:mod:`~assesskit.report.plotting`, :mod:`~assesskit.report.charts`),
report pages rendered from the notebooks in ``notebooks/`` (:mod:`~assesskit.report.sections`),
and whole report sets (:mod:`~assesskit.report.batch`: HTML, Excel, CSV, index and manifest)."""
