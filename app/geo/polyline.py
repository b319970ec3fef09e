"""Decode Google's encoded polyline format (precision 5), as OSRM's ``/route`` returns it.

The share page draws a day's road geometry from the stored polyline; decoding on the server
keeps the page script small and the stored format compact.
"""

from __future__ import annotations


def decode(encoded: str, precision: int = 5) -> list[tuple[float, float]]:
    """``(lat, lon)`` pairs of an encoded polyline; raises ValueError on a truncated one."""
    points: list[tuple[float, float]] = []
    index = lat = lon = 0
    factor = 10**precision
    while index < len(encoded):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                if index >= len(encoded):
                    raise ValueError("truncated polyline")
                byte = ord(encoded[index]) - 63
                index += 1
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lon += deltas[1]
        points.append((lat / factor, lon / factor))
    return points
