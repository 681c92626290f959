"""Running as several processes: the fusion lease and the fusion role (DESIGN §5)."""
