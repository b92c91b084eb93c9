"""``python -m harness`` is the same as the ``tabnas`` command."""

from harness.cli import main

raise SystemExit(main())
