"""``python -m execproto``: the command line."""

from __future__ import annotations

import sys

from execproto.cli import main

sys.exit(main())
