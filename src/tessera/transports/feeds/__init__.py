"""Sensor feeds: AIS, ADS-B, MAVLink and STANAG 4609 KLV (base.py says how they fit)."""
