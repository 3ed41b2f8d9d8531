"""`python -m cli`: the same as the `outage-notice` command."""

import sys

from cli.main import main

sys.exit(main())
