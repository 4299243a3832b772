"""The measurement: run one task on HR, bicubic and SR inputs and compare them.

``harness`` is the comparison's spine (:meth:`~srpipe.comparison.harness.Comparison.run`), a
loop of named steps, each in the module of its seam, in the order they run: ``degraded`` (the
set at one scale), ``variants`` (what runs and the images it shows the task), ``scoring`` (a
row per item, on every rank), ``sharding`` (rank shares, gathered back on rank 0), ``summary``
(distributions, a scale's statistics and verdicts), ``crops`` (the report's pictures).
``journal`` holds the notes they share; ``settings`` is what an eval asks for, ``statistics``
the paired intervals over independent groups, ``verdicts`` what the intervals let us say and
``results`` the result types (and their text cells) every report writer reads.
"""
