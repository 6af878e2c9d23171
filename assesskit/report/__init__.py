"""The report layer: plots (:mod:`~assesskit.report.plotting`) and report pages
(:mod:`~assesskit.report.pages`)."""
