"""The model-fitting code paths: the exact GP, bounded training sets, the published predictors.

Each model is checked against an independent implementation of the same
mathematics: the GP against scikit-learn's ``GaussianProcessRegressor``, the
published BANANAS network's gradients against finite differences, REINFORCE's
update against the reference's PyTorch code path (``Categorical.log_prob``,
``torch.optim.Adam``).
"""

import numpy as np
import pytest
import torch

from tabnas.errors import UserError
from tabnas.runner import Budget, run_search
from tabnas.strategies._gp import ExactGP
from tabnas.strategies._naszilla import (
    DeepEnsemble,
    mutation_candidates,
    truncated_path_encoding,
)
from tabnas.strategies._training_set import bounded_subset
from tabnas.strategy import STRATEGIES
from tabnas.testing import drive
from tabnas.trials import HistoryRecorder


def test_exact_gp_matches_scikit_learn():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(60, 12)).astype(float)
    y = x[:, 0] - 0.5 * x[:, 3] + 0.1 * rng.standard_normal(60)
    y = (y - y.mean()) / y.std()
    ours = ExactGP()
    ours.fit(x, y, optimise=True)
    kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(2.0, (0.1, 50.0))
              + WhiteKernel(0.1, (1e-5, 1.0)))
    theirs = GaussianProcessRegressor(kernel=kernel, random_state=0).fit(x, y)
    fitted = theirs.kernel_.get_params()
    c, ell, w = ours.hyperparameters
    assert c == pytest.approx(fitted["k1__k1__constant_value"], rel=1e-3)
    assert ell == pytest.approx(fitted["k1__k2__length_scale"], rel=1e-3)
    assert w == pytest.approx(fitted["k2__noise_level"], rel=1e-3)
    probe = rng.integers(0, 2, size=(25, 12)).astype(float)
    mean, std = ours.predict(probe)
    ref_mean, ref_std = theirs.predict(probe, return_std=True)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-6)
    np.testing.assert_allclose(std, ref_std, atol=1e-6)


def test_bounded_subset_keeps_the_best_half_and_the_size():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(1000)
    rows = bounded_subset(y, 100, rng)
    assert len(rows) == 100 == len(set(rows.tolist()))
    assert set(np.argsort(-y)[:50].tolist()) <= set(rows.tolist())
    assert bounded_subset(y[:80], 100, rng).tolist() == list(range(80))


@pytest.mark.parametrize("name", ["bo", "smac"])
def test_bounded_training_set_runs_past_its_limit_reproducibly(analog, name):
    cls = STRATEGIES.get(name)
    hp = {"max_train": 24}
    a = run_search(analog, cls, 5, Budget(evals=60), hyperparameters=hp).columns
    b = run_search(analog, cls, 5, Budget(evals=60), hyperparameters=hp).columns
    assert a["arch"] == b["arch"]
    assert len(set(a["arch"])) == 60  # never a repeat, past the limit too


def test_published_bananas_network_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    net = DeepEnsemble(6, rng, members=2, layers=4, width=5)
    x = rng.standard_normal((2, 9, 6))
    y = rng.standard_normal((2, 9))
    grads = net._gradients(x, y)

    def loss() -> float:
        out, _ = net.forward(x)
        return float(np.abs(out - y).mean(1).sum())

    params = [*net.weights, *net.biases]
    for p, g in zip(params, grads, strict=True):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            p[idx] += 1e-6
            up = loss()
            p[idx] -= 2e-6
            numeric[idx] = (up - loss()) / 2e-6
            p[idx] += 1e-6
        np.testing.assert_allclose(g, numeric, atol=1e-6)


def test_published_bananas_is_naszillas_recipe(analog):
    cls = STRATEGIES.get("bananas")
    strategy = cls(analog.space, rng=np.random.default_rng(0),
                   history=HistoryRecorder().history, variant="published")
    assert (strategy.initial, strategy.refit_every) == (10, 10)
    drive(strategy, analog, 11, lambda step, value: value)  # the 11th ask fits the model
    widths = [w.shape for w in strategy._deep.weights]  # a fresh 5 x (10 layers of 20)
    assert widths[0] == (5, 30, 20) and widths[-1] == (5, 20, 1) and len(widths) == 11
    observations = strategy.history.observations  # naszilla's target: 100 - accuracy (%)
    np.testing.assert_array_equal(strategy.targets(observations),
                                  [o.score - 100.0 for o in observations])
    ranked = [o.arch for o in strategy.history.observations]
    pool = mutation_candidates(analog.space, ranked, strategy.history,
                               np.random.default_rng(1))
    assert len(pool) >= 100 and not set(pool) & set(strategy.history.archs)


def test_published_bananas_refuses_light_only_settings(analog):
    with pytest.raises(UserError, match="variant=light only"):
        STRATEGIES.get("bananas")(analog.space, rng=np.random.default_rng(0),
                                  history=HistoryRecorder().history,
                                  variant="published", hidden=32)
    with pytest.raises(UserError, match="perfect_score .*variant=published only"):
        STRATEGIES.get("bananas")(analog.space, rng=np.random.default_rng(0),
                                  history=HistoryRecorder().history, perfect_score=1.0)


def _naszilla_trunc_path_201(arch_string: str) -> np.ndarray:
    """naszilla's ``Cell201.encode_freq_paths(cutoff=30)``, transcribed from its op names."""
    ops_order = ["avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3", "none", "skip_connect"]
    tokens = arch_string.split("|")
    ops = [t.split("~")[0] for i, t in enumerate(tokens) if i not in [0, 2, 5, 9]]
    indices = []
    for i, blueprint in enumerate([[3], [0, 4], [1, 5], [0, 2, 5]]):
        index = 0 if i == 0 else (5 if i in [1, 2] else 5 + 25)
        for j, node in enumerate(blueprint):
            index += ops_order.index(ops[node]) * 5**j
        indices.append(index)
    return np.array([1.0 if i in indices else 0.0 for i in range(30)])


def test_published_bananas_encodes_naszillas_truncated_paths(analog):
    space = analog.space
    rng = np.random.default_rng(4)
    for _ in range(300):
        arch = space.sample(rng)
        np.testing.assert_array_equal(truncated_path_encoding(space, arch),
                                      _naszilla_trunc_path_201(space.to_string(arch)))
    # Past the cutoff: the edge 1-2 (only on the route 0-1-2-3) leaves no trace.
    a = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                          "nor_conv_1x1~1|nor_conv_3x3~2|")
    b = space.from_string("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|"
                          "nor_conv_1x1~1|nor_conv_3x3~2|")
    assert np.array_equal(truncated_path_encoding(space, a), truncated_path_encoding(space, b))
    assert not np.array_equal(space.path_encode(a), space.path_encode(b))


def test_reinforce_step_matches_the_pytorch_reference(analog):
    """Same logits, reward sequence and optimiser as AutoDL-Projects' reinforce.py."""
    cls = STRATEGIES.get("reinforce")
    strategy = cls(analog.space, rng=np.random.default_rng(0),
                   history=HistoryRecorder().history, learning_rate=0.01)
    sizes = analog.space.cardinalities()
    logits = torch.nn.Parameter(torch.tensor(strategy._logits.reshape(len(sizes), -1)))
    optimiser = torch.optim.Adam([logits], lr=0.01)
    numerator = denominator = 0.0
    rng = np.random.default_rng(9)
    for _ in range(15):
        arch = tuple(int(a) for a in rng.integers(0, sizes[0], len(sizes)))
        reward = float(rng.uniform(10, 95))
        strategy._learn(arch, reward)
        numerator = 0.9 * numerator + 0.1 * reward
        denominator = 0.9 * denominator + 0.1
        dist = torch.distributions.Categorical(torch.softmax(logits, dim=-1))
        log_prob = dist.log_prob(torch.tensor(arch)).sum()
        loss = -log_prob * (reward - numerator / denominator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    np.testing.assert_allclose(strategy._logits, logits.detach().numpy().ravel(), atol=1e-9)


def test_feature_matrix_grows_with_the_observations(analog):
    """Rows kept between fits are the observations' encodings, in completion order."""
    strategy = STRATEGIES.get("bo")(analog.space, rng=np.random.default_rng(2),
                                    history=HistoryRecorder().history, initial=4)
    drive(strategy, analog, 80, lambda step, value: value)
    archs = [o.arch for o in strategy.history.observations]
    matrix = strategy._feature_matrix(archs)
    assert matrix.shape == (80, 30)
    np.testing.assert_array_equal(matrix, np.array([analog.space.encode(a) for a in archs]))


def test_published_bananas_runs_beside_the_light_variant(tmp_path):
    """``bananas-published`` is the published method under its own name: in one experiment
    with ``bananas``, and the same records as ``bananas`` with ``variant=published``."""
    import json

    from tabnas.benchmarks import load_benchmark
    from tests.conftest import run_cli

    proc = run_cli("run", "--benchmark", "toy", "--strategy", "bananas,bananas-published",
                   "--seeds", "2", "--budget-evals", "24", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "results/default/manifest.json").read_text())
    hps = manifest["config"]["hyperparameters"]
    assert hps["bananas"]["variant"] == "light"
    assert hps["bananas-published"] == {"initial": 10, "refit_every": 10, "variant": "published",
                                        "ensemble": 5, "perfect_score": 100.0}
    runs = tmp_path / "results/default/runs/toy"
    assert sorted(p.name for p in runs.iterdir()) == ["bananas", "bananas-published"]
    bench = load_benchmark("toy")
    named = run_search(bench, STRATEGIES.get("bananas-published"), 1, Budget(evals=30)).columns
    hp = run_search(bench, STRATEGIES.get("bananas"), 1, Budget(evals=30),
                    hyperparameters={"variant": "published"}).columns
    assert named["arch"] == hp["arch"] and named["regret_test"] == hp["regret_test"]
    # The manifest records what ran: variant=published on `bananas` runs naszilla's 10
    # proposals per fit, not the light variant's default of 4.
    from tabnas.api import run

    run("toy", "bananas", seeds=1, budget=12, experiment="hp", results_dir=tmp_path / "api",
        hyperparameters={"bananas": {"variant": "published"}}, progress=False)
    ran = json.loads((tmp_path / "api/hp/manifest.json").read_text())
    assert ran["config"]["hyperparameters"]["bananas"]["refit_every"] == 10
    bad = run_cli("run", "--benchmark", "toy", "--strategy", "bananas-published", "--hp",
                  "bananas-published.hidden=8", "--seeds", "1", "--budget-evals", "5",
                  cwd=tmp_path)
    assert bad.returncode == 2 and "hidden" in bad.stderr
