"""What the system does, shared by the HTTP handlers (api/) and the jobs (workers/)."""
