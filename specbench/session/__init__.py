"""Engine sessions and measured points: start an engine once, measure one or many points with it."""
