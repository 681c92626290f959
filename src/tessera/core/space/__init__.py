"""Satellites: element sets, propagation, passes over areas and the sensors' fields."""
