"""The live backend: benchmarks answered by training networks instead of reading a table.

Needs the optional extra ``tabnas[live]`` (PyTorch and mlxtend). Nothing here
is imported by ``tabnas --help`` or by the tabular benchmarks.
"""
