"""Conversations: one person, however many addresses, numbers and messages (issue 12)."""
