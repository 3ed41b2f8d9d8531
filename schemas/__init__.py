"""msgspec types and the pure publication rules: no I/O, the clock is passed in."""
