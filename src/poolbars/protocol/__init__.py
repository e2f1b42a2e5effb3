"""What crosses process boundaries: panel events, pipe messages, failure kinds, and the channel that carries events to the panel."""
