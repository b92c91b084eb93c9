"""tabnas test suite (a regular package, so site-packages ``tests`` folders cannot shadow it)."""
