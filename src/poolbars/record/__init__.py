"""What a run leaves behind: the run report and the journal."""
