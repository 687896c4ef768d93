"""How one process is doing: readiness for work, and the values read at each metrics scrape."""
