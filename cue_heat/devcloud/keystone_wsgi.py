"""WSGI entry point that gunicorn loads to serve Keystone.

NOTE: Keystone parses ``sys.argv`` with oslo.config when it initialises,
and under gunicorn that holds gunicorn's own options, which oslo.config
rejects (each worker would die and be restarted forever). The argv is
cut to the program name before Keystone is imported; the configuration
file comes from ``OS_KEYSTONE_CONFIG_FILES`` instead.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()
