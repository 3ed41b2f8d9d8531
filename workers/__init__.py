"""arq worker: jobs that publish approved notices to every channel."""
