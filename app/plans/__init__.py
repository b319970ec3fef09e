"""Planning requests: validation, solving, storage and rendering of plans."""
