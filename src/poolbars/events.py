"""The event protocol between the processes that report and the collector that folds.

Events are plain tuples whose first field names the kind. They are small and carry
absolute values (a bar's current count, never "+1"), so coalescing or losing an
intermediate event never corrupts the picture. Workers and other processes send them in
batches: a batch crosses the manager queue as one `bytes` object pickled with the
standard library's pickle (fast, and no dill on the data path); the parent's own
lifecycle events are put on the same in-process queue as a plain list.

Who sends what:

parent (pool) -- lifecycle, one batch per dispatch/result:
    (WORKER, worker, state, pid)               a worker changed state (starting/idle/...)
    (SEEN, count, exhausted)                   `count` more items read from the input;
                                               `exhausted` once the input is used up
    (START, worker, first, count, label, t)    items first..first+count-1 (a chunk) started
                                               on a worker; `label` names the first one
    (FAIL, worker, index, label, kind, error, traceback, attempts, t)
                                               one item failed (kind: error/timeout/crashed)
    (RETRY, worker, index, label, kind, error, attempts, t)
                                               one item failed and will be tried again
    (DONE, worker, count, t)                   the worker's chunk is over: `count` items
                                               succeeded (failures were sent before); items
                                               neither done nor failed go back to pending
    (WORKER_FAIL, worker, pid, kind, error, traceback, t)
                                               the worker itself failed, not an item:
                                               kind "setup" (its initializer or
                                               Worker.setup; it is retired) or "teardown"
    (CANCEL, count, workers)                   `count` items that never started, and the
                                               chunks running on `workers`, will never finish
    (END, status, t)                           the run ended: done/failed/cancelled
    (CONTROL, stoppable, stopping)             the panel's Stop button may be used / was

reporters (any process) -- task progress, coalesced:
    (BAR, source, bar_id, task, desc, n, total, unit, postfix, closed, t)
                                               a bar's whole current state
    (MESSAGE, source, task, text)              the status text of a task (or a source)

`source` names the sender: a worker number for pool workers, "main" for bars in the
parent process. `task` is the index of the item being run, or None outside a task.
`postfix` is a tuple of (key, value) string pairs.
"""

WORKER = "worker"
WORKER_FAIL = "worker-fail"
SEEN = "seen"
START = "start"
DONE = "done"
FAIL = "fail"
RETRY = "retry"
CANCEL = "cancel"
END = "end"
CONTROL = "control"
BAR = "bar"
MESSAGE = "message"

# Sent by the collector's owner to ask the drain thread to finish.
STOP = "stop"
