"""HeldInterrupt: a real SIGINT sent to this process during the `with` is held, then
replayed to the handler that was in place."""

import os
import signal
import threading

import pytest

from poolbars.interrupts import HeldInterrupt

pytestmark = pytest.mark.timeout(30)


def test_a_sigint_inside_is_held_and_replayed_as_keyboard_interrupt():
    before = signal.getsignal(signal.SIGINT)
    held = HeldInterrupt()
    with held:
        os.kill(os.getpid(), signal.SIGINT)  # delivered at the next bytecode: held
        assert held.held
    assert signal.getsignal(signal.SIGINT) is before  # the handler is back
    with pytest.raises(KeyboardInterrupt):
        held.replay()
    held.replay()  # once only: a second replay delivers nothing


def test_the_replay_goes_to_the_handler_that_was_in_place():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        held = HeldInterrupt()
        with held:
            os.kill(os.getpid(), signal.SIGINT)
            assert seen == []  # held, not delivered
        held.replay()
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_without_an_interrupt_replay_does_nothing():
    held = HeldInterrupt()
    with held:
        pass
    held.replay()
    assert not held.held


def test_outside_the_main_thread_it_holds_nothing():
    before = signal.getsignal(signal.SIGINT)
    during = []

    def run():
        with HeldInterrupt():
            during.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert during == [before]  # signals reach the main thread only: left as it was
