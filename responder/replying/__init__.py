"""What to say: the action for a classified message (policy), the rendered replies (compose), SMS segments, drafts awaiting approval."""
