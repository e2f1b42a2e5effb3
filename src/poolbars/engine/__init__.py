"""The engine: the job book, the loop, and the backends that run work (local worker processes, a Dask cluster), and the worker process itself."""
