"""Events and missions."""
