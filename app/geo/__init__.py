"""Where things are and how long it takes between them: geocoders and travel matrices."""
