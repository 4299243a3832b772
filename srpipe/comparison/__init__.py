"""The measurement: run one task on HR, bicubic and SR inputs and compare them.

``settings`` (what an eval asks for), ``harness`` (the comparison's loop), ``statistics``
(paired intervals over independent groups), ``verdicts`` (what the intervals let us say) and
``results`` (the result types every report writer reads).
"""
