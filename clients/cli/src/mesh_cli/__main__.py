"""``python -m mesh_cli``: the ``mesh`` command."""

import sys

from mesh_cli.commands import main

sys.exit(main())
