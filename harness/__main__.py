"""``python -m tabnas`` is the same as the ``tabnas`` command."""

from tabnas.cli import main

raise SystemExit(main())
