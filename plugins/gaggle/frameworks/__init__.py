"""Consumer frameworks, each behind the protocol in `base.py`, registered in one place.

Order matters: a file is handled by the first framework that claims it, so the
specific ones (dbt models, Scala) come before the catch-all SQL-job adapter.
"""

from gaggle.frameworks.base import Framework
from gaggle.frameworks.dbt import DbtFramework
from gaggle.frameworks.scio import ScioFramework
from gaggle.frameworks.sqljobs import SqlJobsFramework

FRAMEWORKS: tuple[Framework, ...] = (DbtFramework(), ScioFramework(), SqlJobsFramework())

__all__ = ["FRAMEWORKS", "Framework"]
