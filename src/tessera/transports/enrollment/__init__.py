"""The TAK enrollment API (port 8446): TAK clients enroll for a client certificate."""
