"""Inner progress from tasks: bars and track(), tqdm capture, external commands and their line protocol."""
