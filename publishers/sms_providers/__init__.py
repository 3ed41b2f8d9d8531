"""SMS providers: Twilio, and a local outbox when no Twilio credentials are set."""
