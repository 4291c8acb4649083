"""The analysts' page: `marsad report` (one self-contained HTML file) and `marsad serve` (live)."""
