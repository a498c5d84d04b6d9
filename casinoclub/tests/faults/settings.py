"""Settings of the processes the fault tests start: the test settings, with a real Celery broker.

The test suite runs Celery tasks eagerly; a web process under fault test must enqueue them to
Redis like production does, or a stopped Redis would not be noticed.
"""

from casinoclub.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
