"""Redis persistence: the only package that knows key names."""
