"""Channels that tell customers: one module per channel behind the Publisher interface."""
