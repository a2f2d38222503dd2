"""``python -m execproto``: the command line."""

from __future__ import annotations

import sys

from execproto._cli.main import main

sys.exit(main())
