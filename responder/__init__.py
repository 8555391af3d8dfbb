"""responder: kind, fast first replies for therapy practices, with clinicians in control."""
