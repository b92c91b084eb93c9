"""One module per benchmark family; each registers its entries in ``BENCHMARKS``."""
