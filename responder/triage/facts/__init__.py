"""The facts that shape a reply, one module per fact, each read from what the person wrote this time with the reason it was read so."""
