"""The panel's state and the threads that fill it: the collector, the session that ties a pool to its view, the timeline, and remote panels."""
