"""Service areas: which policy applies where, read from GeoJSON, and the exclusion zones."""
