"""mailflow: email-driven registration for a volunteer learning network."""

__version__ = "0.1.0"
