"""Reading one message: parse it, tell machines from people, read risk, category and facts. Pure: no SQL, no sockets."""
