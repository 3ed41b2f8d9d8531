"""Litestar app factory, controllers and the command line."""
