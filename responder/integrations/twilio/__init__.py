"""Twilio: the REST client, the polling source, the transport that sends texts and the webhook signature check."""
