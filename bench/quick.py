"""Quick measurements: Pool(2) start-up, and W1 (x*x over 200,000 ints) against the bare
pools, interleaved, median and min–max of 5. Run: python bench/quick.py"""

import multiprocessing
import statistics
import time

import multiprocess

import poolbars as pb

N = 200_000


def square(x):
    return x * x


def startup() -> float:
    start = time.perf_counter()
    with pb.Pool(2, display=None) as pool:
        while pool.ready_at is None:  # both workers have said READY
            time.sleep(0.001)
        return pool.ready_at - pool.started_at if pool.ready_at else time.perf_counter() - start


def w1_poolbars(display) -> float:
    with pb.Pool(2, display=display) as pool:
        pool.map(square, range(10))
        start = time.perf_counter()
        out = pool.map(lambda x: x * x, range(N))
        took = time.perf_counter() - start
    assert out[-1] == (N - 1) ** 2
    return took


def w1_bare(module, fn) -> float:
    with module.Pool(2) as pool:
        pool.map(square, range(10))
        start = time.perf_counter()
        pool.map(fn, range(N))
        return time.perf_counter() - start


def main(repeat: int = 5) -> None:
    runs = {"poolbars (log view)": [], "poolbars (no view)": [], "multiprocess.Pool": [],
            "multiprocessing.Pool": [], "start-up Pool(2)": []}
    for _ in range(repeat):
        runs["start-up Pool(2)"].append(startup())
        runs["poolbars (log view)"].append(w1_poolbars("log"))
        runs["poolbars (no view)"].append(w1_poolbars(None))
        runs["multiprocess.Pool"].append(w1_bare(multiprocess, lambda x: x * x))
        runs["multiprocessing.Pool"].append(w1_bare(multiprocessing, square))
    base = statistics.median(runs["multiprocessing.Pool"])
    for name, times in runs.items():
        med = statistics.median(times)
        ratio = "" if name.startswith("start-up") else f"  {med / base:5.2f}x stdlib"
        print(f"{name:24s} median {med * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, "
              f"max {max(times) * 1000:.1f}){ratio}")


if __name__ == "__main__":
    main()
