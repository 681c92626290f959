"""Where a 2525D symbol has no warfighting (S) letter code, and so no CoT atom type: the
CoT battle dimension and function id that come nearest, by symbol set.

A CoT atom type carries a 2525C warfighting code mechanically (``a-h-G-U-C-I`` is
``SHGPUCI--------``), so CoT types reach 2525D through the letter-code crosswalk
(``tessera.core.symbol_convert``); only these fallbacks are CoT's own. Pure data.
"""

from __future__ import annotations

from typing import Final

SYMBOL_SET_FALLBACK: Final = {
    "00": ("Z", ""),
    "01": ("A", ""),
    "02": ("A", "WM"),  # air missile: the 2525C missile in flight
    "05": ("P", ""),
    "06": ("P", ""),
    "10": ("G", "U"),
    "11": ("G", "U"),  # civilian units and organizations
    "15": ("G", "E"),
    "20": ("G", "I"),
    "25": ("G", ""),  # control measures
    "27": ("G", "U"),  # dismounted individuals
    "30": ("S", ""),
    "35": ("U", ""),
    "36": ("U", "WM"),  # mine warfare: the 2525C sea mine
    "40": ("G", ""),  # activities
    "45": ("G", ""),  # atmospheric
    "46": ("S", ""),  # oceanographic
    "47": ("P", ""),  # meteorological space
    "50": ("P", ""),
    "51": ("A", ""),
    "52": ("G", ""),
    "53": ("S", ""),
    "54": ("U", ""),
    "60": ("Z", ""),  # cyberspace
}
