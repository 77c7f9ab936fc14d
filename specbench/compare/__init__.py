"""Results side by side: aligned rows of figures, ratios to a baseline, and what makes a comparison unfair.

Reads only typed results (specbench.results) and the metric registry; the report package renders it.
"""

from specbench.compare.comparison import ComparedRun, Comparison, compare_runs
from specbench.compare.facts import RunFacts
from specbench.compare.rows import Row, Verdict

__all__ = ["ComparedRun", "Comparison", "Row", "RunFacts", "Verdict", "compare_runs"]
