"""`python -m sdmx_server.cli ...`: the same as the `sdmx-server` command."""

import sys

from sdmx_server.cli import main

sys.exit(main())
