"""Visit outcomes: what happened at a planned stop, from the API or the rep's share page."""
