"""Loading a study: the combined-file cache never changes what is loaded."""

import pyarrow.parquet as pq

from tabnas.executors import InProcessExecutor
from tabnas.results import load_results, run_files
from tabnas.runner import Budget
from tabnas.study import Study, run_study


def study(root, seeds):
    return Study(experiment="s", benchmarks=["nb201-analog"], strategies=["random", "rea"],
                 seeds=list(range(seeds)), budget=Budget(evals=20), results_dir=root)


def direct(exp):
    """The study read file by file, without any cache."""
    import pyarrow as pa

    df = pa.concat_tables([pq.read_table(f) for f in run_files(exp)]).to_pandas()
    return df.sort_values(["benchmark", "strategy", "seed", "step"], kind="stable").reset_index(
        drop=True)


def test_cache_is_used_updated_and_never_trusted_blindly(tmp_path):
    s = study(tmp_path, 3)
    run_study(s, executor=InProcessExecutor())
    cache = s.exp_dir / ".combined.parquet"
    first = load_results(s.exp_dir)
    assert cache.exists() and pq.read_metadata(cache).num_rows == 6 * 20
    assert first.equals(direct(s.exp_dir))
    assert load_results(s.exp_dir).equals(first)

    bigger = study(tmp_path, 5)  # more seeds: the cache gains the new runs
    assert run_study(bigger, executor=InProcessExecutor()).counts["ran"] == 4
    second = load_results(s.exp_dir)
    assert len(second) == 10 * 20 and second.equals(direct(s.exp_dir))
    assert pq.read_metadata(cache).num_rows == 10 * 20

    removed = run_files(s.exp_dir)[0]
    removed.unlink()  # a run the cache holds is gone: rebuilt from the run files
    assert load_results(s.exp_dir).equals(direct(s.exp_dir))
    assert len(load_results(s.exp_dir)) == 9 * 20

    cache.write_bytes(b"not parquet")
    assert load_results(s.exp_dir).equals(direct(s.exp_dir))


def test_reading_leaves_the_callers_arrow_memory_pool_in_place(tmp_path):
    """Results are read with the C allocator's pool, and the program's own pool is put
    back afterwards, also when the read fails."""
    import pyarrow as pa
    import pytest

    from tabnas.errors import UserError

    s = study(tmp_path, 1)
    run_study(s, executor=InProcessExecutor())
    mine = pa.jemalloc_memory_pool() if "jemalloc" in pa.supported_memory_backends() \
        else pa.mimalloc_memory_pool()
    before = pa.default_memory_pool()
    pa.set_memory_pool(mine)
    try:
        assert load_results(s.exp_dir).equals(direct(s.exp_dir))
        assert pa.default_memory_pool().backend_name == mine.backend_name != "system"
        run_files(s.exp_dir)[0].write_bytes(b"not parquet")
        (s.exp_dir / ".combined.parquet").unlink()
        with pytest.raises(UserError):
            load_results(s.exp_dir)
        assert pa.default_memory_pool().backend_name == mine.backend_name
    finally:
        pa.set_memory_pool(before)


def test_concurrent_reads_put_the_callers_pool_back_after_the_last(tmp_path):
    import threading

    import pyarrow as pa

    s = study(tmp_path, 1)
    run_study(s, executor=InProcessExecutor())
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    try:
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for _ in range(10):
                    load_results(s.exp_dir)
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and pa.default_memory_pool().backend_name == "mimalloc"
    finally:
        pa.set_memory_pool(before)
