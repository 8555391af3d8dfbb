"""IMAP: the mailbox watcher (IDLE with polling behind it), the Drafts folder, and the one way to open a session."""
