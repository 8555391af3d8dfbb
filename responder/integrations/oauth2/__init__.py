"""OAuth2 sign-in for the mailbox: access tokens from a refresh token, by each provider's library."""
