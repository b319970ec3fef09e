"""The rep's share-link pages: the itinerary (HTML), its calendar (.ics) and link management."""
