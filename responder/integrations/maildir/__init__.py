"""A Maildir folder: a source to read mail from and a transport that writes replies out, for trying responder without accounts."""
