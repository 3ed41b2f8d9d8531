"""The command line (`outage-notice`) and the demo loader: wiring, allowed to reach every layer."""
