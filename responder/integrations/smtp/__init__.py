"""SMTP: the transport that sends email replies."""
