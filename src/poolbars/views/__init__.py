"""What draws a snapshot: the notebook widget view, the terminal, the log."""
