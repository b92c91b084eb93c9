"""The trial contract between a strategy and the runner: suggestions, trials, history.

A strategy's ``ask`` returns a :class:`Suggestion` (an architecture, an
optional fidelity, and for a promotion the id of the earlier trial it
continues), :data:`WAIT` (nothing to propose until a pending result arrives)
or :data:`DONE` (nothing more to propose). The runner turns each suggestion
into a :class:`Trial` with an id (0, 1, 2, ... in ask order), evaluates it,
and calls ``tell(trial, observation)``. This is the model of Syne Tune's trial
ids and Optuna's running trials: a promotion names the trial it continues, so
an asynchronous method never has to guess which result belongs to which
proposal, and no proposal is told apart by its shape.

The runner also keeps the :class:`History`, the one record of what was asked
and what was observed, which every strategy reads instead of keeping its own.
A strategy holds the read-only :class:`History`; only the runner holds the
:class:`HistoryRecorder` that writes it. The history stores what an
:class:`~tabnas.types.Observation` holds (score, cost, score vector) and
nothing else, so nothing in it could carry a test value: the barrier that
keeps test metrics away from strategies is the same as it was for ``tell``
alone.

Writing the history is a handful of list and dict operations per evaluation;
the trial and observation objects, and the look-ups only some strategies use
(latest result per architecture, best so far, results at one fidelity), are
made when first asked for, from where they last stopped, so each trial is
handled once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, KeysView, Sequence, ValuesView
from typing import Any, NamedTuple, overload

from tabnas.types import Arch, Observation


class Suggestion(NamedTuple):
    """What ``ask`` proposes: evaluate ``arch`` at ``fidelity``.

    ``fidelity`` is ``None`` on a single-fidelity benchmark (and means the
    highest one on a multi-fidelity benchmark). ``continues`` is the id of an
    earlier, finished trial of the same architecture that this one promotes
    (a higher rung of successive halving); ``None`` for a fresh start.

    An immutable named tuple: building one is a single C-level tuple
    construction, which matters because one is made on every evaluation. The
    runner accepts exactly this type from ``ask`` (a plain tuple is refused).
    """

    arch: Arch
    fidelity: int | None = None
    continues: int | None = None


class Wait:
    """The type of :data:`WAIT`: nothing to propose until a pending result arrives."""

    __slots__ = ()
    _instance: Wait | None = None

    def __new__(cls) -> Wait:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "WAIT"

    def __reduce__(self):
        return (Wait, ())


class Done:
    """The type of :data:`DONE`: the strategy has nothing more to propose."""

    __slots__ = ()
    _instance: Done | None = None

    def __new__(cls) -> Done:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DONE"

    def __reduce__(self):
        return (Done, ())


#: Returned by ``ask`` when a result must arrive first (a rung waiting for its members).
WAIT = Wait()
#: Returned by ``ask`` when the strategy will propose nothing more (space exhausted).
DONE = Done()


class Trial(NamedTuple):
    """A suggestion the runner accepted: ``id`` counts asks from 0 within a run.

    An immutable named tuple ``(id, arch, fidelity, continues)``, like
    :class:`Suggestion`, so the runner makes one per evaluation in one C-level
    call and reads it back by unpacking.
    """

    id: int
    arch: Arch
    fidelity: int | None
    continues: int | None


_new_tuple = tuple.__new__


class ContractError(RuntimeError):
    """A strategy broke the ask/tell contract (a bug in the strategy, named in the message)."""


class _View(Sequence):
    """A read-only sequence over a list the history owns (no copy is made)."""

    __slots__ = ("_items",)

    def __init__(self, items: list) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list: ...
    def __getitem__(self, index):
        return self._items[index]

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<{len(self._items)} items>"


class _FinishedView(Sequence):
    """A read-only view of the history's finished trials, one item each, in completion order."""

    __slots__ = ("_history",)

    def __init__(self, history: History) -> None:
        self._history = history

    def __len__(self) -> int:
        return len(self._history._scores)


class _Observations(_FinishedView):
    """A read-only sequence of the history's observations, in completion order."""

    __slots__ = ()

    def __getitem__(self, index):
        h = self._history
        # Once read, the history keeps its observations made as they are recorded.
        return (h._observations if h._observations_kept else h._finished_observations())[index]

    def __iter__(self) -> Iterator:
        return iter(self._history._finished_observations())

    def __repr__(self) -> str:
        return f"<{len(self)} observations>"


class _Pairs(_FinishedView):
    """A read-only sequence of ``(trial, observation)``: the history's finished trials."""

    __slots__ = ()

    def __getitem__(self, index):
        h = self._history
        trials, observations = h._finished_trials(), h._finished_observations()
        if isinstance(index, slice):
            return list(zip(trials[index], observations[index], strict=True))
        return trials[index], observations[index]

    def __iter__(self) -> Iterator:
        h = self._history
        return zip(h._finished_trials(), h._finished_observations(), strict=True)

    def __repr__(self) -> str:
        return f"<{len(self)} finished trials>"


class History:
    """What a run has asked and observed, read-only to strategies.

    ``len(history)`` is the number of finished trials. Finished trials are in
    completion order (the order ``tell`` is called), pending ones in ask order.
    ``arch in history`` says whether ``arch`` was ever suggested (finished or
    pending), which is what a strategy that avoids repeats asks.

    Stored as columns: the suggestions in ask order (trial ``i`` is
    ``Trial(i, *suggestion_i)``), and, in completion order, the finished
    trials' ids, scores, costs and score vectors. The :class:`Trial` and
    :class:`~tabnas.types.Observation` objects are made from them when first
    read, once each, so a run pays for the objects its strategy reads and no
    more (random search reads none). Observations, once read, are made as
    they are recorded from then on: a strategy that reads them (REA reads its
    population on every ask) would otherwise pay for a look-up on every read.
    The columns hold what an observation holds and nothing else: nothing that
    could carry a test value reaches a strategy through the history, as
    through ``tell``.
    """

    __slots__ = ("_suggestions", "_trials", "_done_ids", "_scores", "_costs", "_vectors",
                 "_done", "_observations", "_observations_kept", "_pending", "_archs",
                 "_finished_view", "_observations_view", "_synced", "_results", "_latest",
                 "_best", "_by_fidelity")

    def __init__(self) -> None:
        self._suggestions: list[Suggestion] = []  # every trial asked, in ask order
        self._trials: list[Trial] = []  # the Trial objects of the first len(_trials) of them
        # Finished trials in completion order, as parallel columns (score vectors only on
        # multi-objective runs, by row); and the Trial and Observation objects of the first
        # len(_done) and len(_observations) of them.
        self._done_ids: list[int] = []
        self._scores: list[float] = []
        self._costs: list[float] = []
        self._vectors: dict[int, tuple[float, ...]] = {}
        self._done: list[Trial] = []
        self._observations: list[Observation] = []
        self._observations_kept = False  # whether the recorder appends to _observations
        self._pending: dict[int, Trial] = {}
        self._archs: dict[Arch, None] = {}  # distinct suggested architectures, first-asked order
        self._finished_view = _Pairs(self)
        self._observations_view = _Observations(self)
        # Derived look-ups, brought up to date lazily from the finished trials past _synced.
        self._synced = 0
        self._results: dict[int, Observation] = {}  # by trial id
        self._latest: dict[Arch, Observation] = {}
        self._best: tuple[Trial, Observation] | None = None
        self._by_fidelity: dict[int | None, list[tuple[Trial, Observation]]] = {}

    def _all_trials(self) -> list[Trial]:
        """Every trial asked, in ask order, making the Trial objects not made yet."""
        trials, suggestions = self._trials, self._suggestions
        n = len(trials)
        if n < len(suggestions):
            trials.extend([_new_tuple(Trial, (i,) + s)
                           for i, s in enumerate(suggestions[n:], start=n)])
        return trials

    def _finished_trials(self) -> list[Trial]:
        """The finished trials, in completion order, making the Trial objects not made yet."""
        done, ids = self._done, self._done_ids
        if len(done) < len(ids):
            trials = self._all_trials()
            done.extend([trials[i] for i in ids[len(done):]])
        return done

    def _finished_observations(self) -> list[Observation]:
        """The finished trials' observations, in completion order, making those not made yet.

        From then on the recorder appends each new observation as it is recorded.
        """
        observations = self._observations
        self._observations_kept = True
        n, m = len(observations), len(self._scores)
        if n < m:
            suggestions, ids, vectors = self._suggestions, self._done_ids, self._vectors
            scores, costs = self._scores, self._costs
            for row in range(n, m):
                arch, fidelity, _ = suggestions[ids[row]]
                observations.append(_new_tuple(Observation, (arch, fidelity, scores[row],
                                                             costs[row], vectors.get(row))))
        return observations

    # -- what was asked --------------------------------------------------------------
    @property
    def asked(self) -> int:
        """How many trials were asked; also the id the next suggestion will get."""
        return len(self._suggestions)

    def trial(self, trial_id: int) -> Trial:
        """The trial with this id (finished or pending)."""
        if not 0 <= trial_id < len(self._suggestions):
            raise KeyError(f"no trial {trial_id} (trials 0..{len(self._suggestions) - 1} "
                           "were asked)")
        return self._all_trials()[trial_id]

    @property
    def pending(self) -> ValuesView[Trial]:
        """Trials asked but not yet told, in ask order (empty in a sequential search).

        A live, read-only view: it follows the run as trials start and finish.
        """
        return self._pending.values()

    def is_pending(self, arch: Arch) -> bool:
        """Whether a trial of ``arch`` is being evaluated now."""
        return any(t.arch == arch for t in self._pending.values()) if self._pending else False

    def __contains__(self, arch: object) -> bool:
        return arch in self._archs

    @property
    def archs(self) -> KeysView[Arch]:
        """Every architecture ever suggested, once each, in the order first asked."""
        return self._archs.keys()

    # -- what was observed -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._scores)

    @property
    def finished(self) -> Sequence[tuple[Trial, Observation]]:
        """(trial, observation) of every finished trial, in completion order.

        A live, read-only view, like :attr:`observations`.
        """
        return self._finished_view

    @property
    def observations(self) -> Sequence[Observation]:
        """The observations of :attr:`finished`, in the same order (a live, read-only view)."""
        return self._observations_view

    def observation(self, trial_id: int) -> Observation | None:
        """What trial ``trial_id`` observed; ``None`` while it is pending."""
        self.trial(trial_id)
        self._sync()
        return self._results.get(trial_id)

    def evaluated(self, arch: Arch) -> bool:
        """Whether ``arch`` has a finished trial (at any fidelity)."""
        self._sync()
        return arch in self._latest

    def latest(self, arch: Arch) -> Observation | None:
        """The last observation told for ``arch`` (any fidelity); ``None`` if none yet."""
        self._sync()
        return self._latest.get(arch)

    def evaluated_archs(self) -> KeysView[Arch]:
        """Architectures with a finished trial, in the order they first finished."""
        self._sync()
        return self._latest.keys()

    def best(self) -> tuple[Trial, Observation] | None:
        """The finished trial with the highest score (NaN never; ties: the earlier)."""
        self._sync()
        return self._best

    def at_fidelity(self, fidelity: int | None) -> Sequence[tuple[Trial, Observation]]:
        """(trial, observation) of the finished trials at ``fidelity``, in completion order."""
        self._sync()
        return _View(self._by_fidelity.setdefault(fidelity, []))

    def _sync(self) -> None:
        n = len(self._scores)
        if self._synced == n:
            return
        results, latest, by_fid, best = self._results, self._latest, self._by_fidelity, self._best
        for pair in zip(self._finished_trials()[self._synced:n],
                        self._finished_observations()[self._synced:n], strict=True):
            trial, obs = pair
            results[trial.id] = obs
            latest[obs.arch] = obs
            by_fid.setdefault(obs.fidelity, []).append(pair)
            if obs.score > (best[1].score if best is not None else -math.inf):
                best = pair
        self._best = best
        self._synced = n

    def __repr__(self) -> str:
        return (f"History({len(self._scores)} finished, {len(self._pending)} pending, "
                f"{len(self._archs)} architectures)")


class HistoryRecorder:
    """The runner's handle on a :class:`History`: the only code that writes it.

    A result is recorded as what its observation holds (score, cost, and the
    score vector on a multi-objective benchmark); the history makes the
    :class:`~tabnas.types.Observation` when it is first read.
    """

    __slots__ = ("history", "_suggestions", "_trials", "_done_ids", "_scores", "_costs",
                 "_vectors", "_observations", "_pending", "_archs")

    def __init__(self, history: History | None = None) -> None:
        self.history = h = history if history is not None else History()
        self._suggestions, self._trials = h._suggestions, h._trials
        self._done_ids, self._scores, self._costs = h._done_ids, h._scores, h._costs
        self._vectors, self._observations = h._vectors, h._observations
        self._pending, self._archs = h._pending, h._archs

    def start(self, suggestion: Suggestion) -> Trial:
        """Give ``suggestion`` the next trial id and mark it pending."""
        suggestions, trials = self._suggestions, self._trials
        if len(trials) < len(suggestions):  # trials recorded by complete() not made yet
            self.history._all_trials()
        trial_id = len(suggestions)
        # Trial(trial_id, *suggestion) without the Python-level __new__.
        trial = _new_tuple(Trial, (trial_id,) + suggestion)
        suggestions.append(suggestion)
        trials.append(trial)
        self._pending[trial_id] = trial
        self._archs[suggestion[0]] = None
        return trial

    def finish(self, trial: Trial, score: float, cost: float,
               scores: tuple[float, ...] | None = None) -> None:
        """Record ``trial``'s result (its observation's score, cost and ``scores``);
        it is no longer pending."""
        trial_id, arch, fidelity, _ = trial
        del self._pending[trial_id]
        if scores is not None:
            self._vectors[len(self._scores)] = scores
        self._done_ids.append(trial_id)
        self._scores.append(score)
        self._costs.append(cost)
        if self.history._observations_kept:
            self._observations.append(_new_tuple(Observation, (arch, fidelity, score, cost,
                                                               scores)))

    def complete(self, suggestion: Suggestion, score: float, cost: float,
                 scores: tuple[float, ...] | None = None) -> int:
        """:meth:`start` and :meth:`finish` at once, for a sequential run; returns the trial id.

        With one worker no strategy code runs while a trial is in flight, so
        nothing could see it pending: the trial is recorded finished directly,
        as its suggestion (its :class:`Trial` is made when first read).
        """
        suggestions = self._suggestions
        trial_id = len(suggestions)
        suggestions.append(suggestion)
        self._archs[suggestion[0]] = None
        if scores is not None:
            self._vectors[len(self._scores)] = scores
        self._done_ids.append(trial_id)
        self._scores.append(score)
        self._costs.append(cost)
        if self.history._observations_kept:
            arch, fidelity, _ = suggestion
            self._observations.append(_new_tuple(Observation, (arch, fidelity, score, cost,
                                                               scores)))
        return trial_id

    def finished_columns(self) -> tuple[list[int], tuple, tuple, tuple]:
        """(ids, architectures, fidelities, continues) of the finished trials, in completion
        order: the records' trial columns, read from the history rather than kept twice."""
        ids = self._done_ids
        if not ids:
            return [], (), (), ()
        archs, fidelities, continues = zip(*map(self._suggestions.__getitem__, ids),
                                           strict=True)
        return ids, archs, fidelities, continues


def check_continues(who: str, history: History, suggestion: Suggestion) -> None:
    """Refuse a promotion that does not continue a finished trial of the same architecture.

    This is what makes "promote only on results that have arrived" a property
    of every run rather than a promise of each strategy.
    """
    parent = suggestion.continues
    if not isinstance(parent, int) or not 0 <= parent < history.asked:
        raise ContractError(f"strategy {who!r} continues trial {parent!r}, which was never "
                            "asked")
    if history.observation(parent) is None:
        raise ContractError(f"strategy {who!r} continues trial {parent}, which is still "
                            "pending: promote only on results that have arrived")
    if history.trial(parent).arch != suggestion.arch:
        raise ContractError(f"strategy {who!r} continues trial {parent} with another "
                            "architecture")
