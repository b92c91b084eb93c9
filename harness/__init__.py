"""tabnas: a benchmark harness for neural architecture search over tabular NAS datasets.

The import is kept light on purpose (``tabnas --help`` must answer fast): heavy
libraries (pandas, pyarrow, matplotlib, scipy) are imported where they are used.
"""

__version__ = "0.1.0"

#: Version of the on-disk results layout; a results folder written by another
#: layout version is refused rather than silently mixed. 2: run files carry their
#: identity, settings hash and SHA-256 (:mod:`tabnas.runfile`).
RESULTS_FORMAT = 2
