"""The volunteer registry: volunteers, places and live positions, imports, the spatial index."""
