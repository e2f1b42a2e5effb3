"""A map with a journal (`Pool(journal=...)`'s map and starmap): its input read through
the journal (`JournaledInput`: what the journal holds is restored, the rest is run), each
settled run put at its items' places in the whole input and its good items written
down, also when the map raises. The results are exactly the input's: one per item, in
place. The journal file itself is `journal.py`'s; running the job, `runner.py`'s."""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import Failure
from ..options import check_mappable
from ..results import Results, finished_well
from ..runner import JobRunner, JobSettings, length_of
from .journal import Journal, JournaledInput, fingerprint


def journaled_map(runner: JobRunner, journal: Journal, number: int, fn: object,
                  iterable: Iterable[Any], call: int, results: Results, policy: str,
                  settings: JobSettings) -> list[Any]:
    """Map call `number` of the pool, skipping what `journal` holds. `results` keeps
    every item's value (restored ones too); under `policy` "raise" the first failure is
    raised once its run is written down (so `results` should then return failures)."""
    check_mappable(fn, iterable)
    runner.register(fn)  # a function that cannot be sent fails here, with its message
    length = length_of(iterable)
    stored = journal.begin(number, fingerprint(fn, call, length))
    source = JournaledInput(journal, number, stored, iterable, runner.engine.restore,
                            results.runs)
    todo = None if length is None else length - source.stored_below(length)
    job = runner.job(fn, source, call, settings, length=todo)
    job.where = source.where  # the run record names items by their place in the whole input
    settled = runner.settled(job, results, settings, source.where)
    try:
        for position, values, _ in settled:
            failure = put_down(source, results, position, values)
            runner.taken(job, len(values))
            if policy == "raise" and failure is not None:
                raise failure.to_exception()
    except BaseException:
        settled.close()  # cancels the job
        for position, values in runner.rest(job):  # what settled before the cancel did
            put_down(source, results, position, values)
        raise
    return results.in_order()  # one run per input item, restored ones too


def put_down(source: JournaledInput, results: Results, position: int,
             values: list[Any]) -> Failure | None:
    """Put a settled run of the job (which ran `source`'s items) at its items' places in
    the whole input and write down those that finished well; its first failure, if any."""
    places = source.where[position:position + len(values)]
    for at, value in zip(places, values):
        results.add(at, [value])
    source.record([(places[offset], value) for offset, value in finished_well(values)])
    return next((value for value in values if isinstance(value, Failure)), None)
